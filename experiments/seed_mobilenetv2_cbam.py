"""Seed study: MobileNetV2 + CBAM at 224x224, ImageNet weights, fine-tuned end to end (reported 97.60%)."""

from attention_xai.presets import seed_config


def config():
    return seed_config("MobileNetV2", attention="cbam", weights="imagenet")
