"""The seed study's EfficientNetB0 + CBAM protocol at 224x224, run on a CPU: as
cpu224_mobilenetv2_cbam (from scratch, 12,000 stratified training digits, 2,000 validation
digits, all 10,000 test digits), with fewer epochs, since an EfficientNetB0 step costs
about twice a MobileNetV2 step here. Resumes after an interruption."""

from attention_xai.presets import cpu224_config


def config():
    return cpu224_config("EfficientNetB0", epochs=4,
                         description="EfficientNetB0 + CBAM at 224x224 from scratch "
                                     "on a 12,000-digit stratified subset")
