"""Attention ablation on the quick protocol, cell 'se': the quick backbone, data and schedule with attention=se."""

from attention_xai.presets import ablation_config


def config():
    return ablation_config("se")
