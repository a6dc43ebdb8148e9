"""DenseNet121 at 224x224 trained end to end from scratch: a frozen random backbone would be
meaningless, so the offline variant of the frozen-head protocol trains every layer."""

from attention_xai.presets import seed_config


def config():
    return seed_config("DenseNet121", attention="none", weights=None)
