"""MobileNetV2 + CBAM at 224x224 trained from scratch (runs offline)."""

from attention_xai.presets import seed_config


def config():
    return seed_config("MobileNetV2", attention="cbam", weights=None)
