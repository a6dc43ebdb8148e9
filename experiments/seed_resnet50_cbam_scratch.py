"""ResNet50 + CBAM at 224x224 trained from scratch: the seed setting without ImageNet weights (runs offline)."""

from attention_xai.presets import seed_config


def config():
    return seed_config("ResNet50", attention="cbam", weights=None)
