"""Attention ablation on the quick protocol, cell 'cbam': the quick backbone, data and schedule with attention=cbam."""

from attention_xai.presets import ablation_config


def config():
    return ablation_config("cbam")
