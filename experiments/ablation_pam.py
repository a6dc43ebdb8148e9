"""Attention ablation on the quick protocol, cell 'pam': the quick backbone, data and schedule with attention=pam."""

from attention_xai.presets import ablation_config


def config():
    return ablation_config("pam")
