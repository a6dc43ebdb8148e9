"""Second seed's protocol: DenseNet121 with frozen ImageNet features and a linear head trained 4
epochs (reported 96.14%)."""

from attention_xai.presets import frozen_head_config


def config():
    return frozen_head_config("DenseNet121", epochs=4, weights="imagenet")
