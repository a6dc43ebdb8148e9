"""The quick default experiment: the whole path (augmentation, resize, RGB, attention)
on a small CNN, sized to train in a few minutes on a 2-core CPU."""

from attention_xai.config import AugmentConfig, ExperimentConfig, ModelConfig, Phase, TrainConfig


def config() -> ExperimentConfig:
    return ExperimentConfig(
        model=ModelConfig(
            backbone="small_cnn",
            backbone_kwargs={"widths": (16, 32, 64)},
            image_size=32,
            attention="cbam",
            attention_kwargs={"reduction": 8},
            head_dropout=0.2,
            augment=AugmentConfig(rotation_degrees=10, translation=0.1, elastic_alpha=34, elastic_sigma=4),
        ),
        training=TrainConfig(phases=(Phase(epochs=6, learning_rate=2e-3),), batch_size=128,
                             plateau_patience=1, plateau_factor=0.3),
        seed=0,
        description="small_cnn (16-32-64) + CBAM at 32x32, rotation/translation/elastic augmentation",
    )
