"""Seed study: ResNet50 + CBAM at 224x224, ImageNet weights, fine-tuned end to end (reported 98.9%)."""

from attention_xai.presets import seed_config


def config():
    return seed_config("ResNet50", attention="cbam", weights="imagenet")
