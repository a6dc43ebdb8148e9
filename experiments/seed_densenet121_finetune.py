"""DenseNet121, ImageNet weights: the frozen-head protocol followed by fine-tuning the last 40
layers at a 10x lower rate."""

from attention_xai.presets import frozen_head_config


def config():
    return frozen_head_config("DenseNet121", epochs=4, weights="imagenet", fine_tune_layers=40, fine_tune_epochs=4)
