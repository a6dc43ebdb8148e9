"""Attention ablation, cell 'none': MobileNetV2 from scratch at 64x64, attention=none after the final feature map."""

from attention_xai.presets import ablation_config


def config():
    return ablation_config("none")
