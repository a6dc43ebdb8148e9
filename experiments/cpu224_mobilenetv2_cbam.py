"""The seed study's MobileNetV2 + CBAM protocol at 224x224, run on a CPU: from scratch (no
ImageNet weights can be fetched here), on the seed study's 20% training subset (12,000
digits, seeded and class-stratified), validated on 2,000 held-out training digits (to keep
an epoch's validation short on a CPU), tested on all 10,000 test digits. Resumes after an
interruption from its last finished epoch."""

import dataclasses

from attention_xai.presets import seed_config


def config():
    base = seed_config("MobileNetV2", attention="cbam", weights=None, epochs=8,
                       description="MobileNetV2 + CBAM at 224x224 from scratch on a 12,000-digit stratified subset")
    return dataclasses.replace(base, training=dataclasses.replace(base.training, train_subset=12000,
                                                                  validation_size=2000))
