"""The seed study's MobileNetV2 + CBAM protocol at 224x224, run on a CPU: from scratch (no
ImageNet weights can be fetched here), on the seed study's 20% training subset (12,000
digits, seeded and class-stratified), validated on 2,000 held-out training digits, tested
on all 10,000 test digits. Resumes after an interruption from its last finished epoch."""

from attention_xai.presets import cpu224_config


def config():
    return cpu224_config("MobileNetV2", epochs=8,
                         description="MobileNetV2 + CBAM at 224x224 from scratch on a 12,000-digit stratified subset")
