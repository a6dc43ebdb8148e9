"""Seed study: EfficientNetB0 + CBAM at 224x224, ImageNet weights, fine-tuned end to end (reported 97.05%)."""

from attention_xai.presets import seed_config


def config():
    return seed_config("EfficientNetB0", attention="cbam", weights="imagenet")
