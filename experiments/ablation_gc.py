"""Attention ablation on the quick protocol, cell 'gc': the quick backbone, data and schedule with attention=gc."""

from attention_xai.presets import ablation_config


def config():
    return ablation_config("gc")
