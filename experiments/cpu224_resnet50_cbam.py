"""The seed study's ResNet50 + CBAM protocol at 224x224, run on a CPU: as
cpu224_mobilenetv2_cbam (from scratch, 12,000 stratified training digits, 2,000 validation
digits, all 10,000 test digits), with 4 epochs, as cpu224_efficientnetb0_cbam: a ResNet50
step costs several MobileNetV2 steps here. The seed study's ResNet50 + CBAM (ImageNet
weights, all 60,000 digits) reached 98.9%. Resumes after an interruption."""

from attention_xai.presets import cpu224_config


def config():
    return cpu224_config("ResNet50", epochs=4,
                         description="ResNet50 + CBAM at 224x224 from scratch "
                                     "on a 12,000-digit stratified subset")
