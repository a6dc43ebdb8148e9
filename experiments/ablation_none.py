"""Attention ablation on the quick protocol, cell 'none': the quick backbone, data and schedule with attention=none."""

from attention_xai.presets import ablation_config


def config():
    return ablation_config("none")
