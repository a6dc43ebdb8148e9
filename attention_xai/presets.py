"""Builders shared by the experiment files: the seed studies' protocols and the ablation.

Each experiment file in `experiments/` is one call to a builder here, so a protocol is
written once and every experiment stays a one-screen file.
"""

from __future__ import annotations

from attention_xai.config import AugmentConfig, ExperimentConfig, ModelConfig, Phase, TrainConfig

SEED_IMAGE_SIZE = 224


def seed_config(backbone: str, *, attention: str = "cbam", weights: str | None = "imagenet",
                epochs: int = 10, batch_size: int = 32, learning_rate: float = 1e-4,
                description: str = "") -> ExperimentConfig:
    """A seed-study setting: a backbone at 224x224 with an attention module, fine-tuned
    end to end with Adam and ReduceLROnPlateau (from scratch when weights=None, with a
    higher learning rate)."""
    if weights is None:
        learning_rate = max(learning_rate, 1e-3)
    return ExperimentConfig(
        # From scratch, BatchNormalization's moving statistics must keep up with weights that
        # change fast (see ModelConfig.bn_momentum); fine-tuning keeps the backbone's own.
        model=ModelConfig(backbone=backbone, weights=weights, image_size=SEED_IMAGE_SIZE, attention=attention,
                          head_dropout=0.3, augment=AugmentConfig(), bn_momentum=0.9 if weights is None else None,
                          # CBAM's spatial gate as its authors build it (it saturates without; README).
                          attention_kwargs={"spatial_norm": True} if attention == "cbam" else {}),
        training=TrainConfig(phases=(Phase(epochs, learning_rate, "all"),), batch_size=batch_size,
                             early_stopping_patience=4, plateau_patience=2),
        description=description,
    )


def frozen_head_config(backbone: str, *, epochs: int = 4, weights: str | None = "imagenet",
                       fine_tune_layers: int = 0, fine_tune_epochs: int = 0,
                       description: str = "") -> ExperimentConfig:
    """The second seed's protocol: frozen backbone, a linear head trained `epochs`
    epochs; optionally the last `fine_tune_layers` layers are then fine-tuned at a
    10x lower rate."""
    phases = [Phase(epochs, 1e-3, "head", name="head")]
    if fine_tune_layers and fine_tune_epochs:
        phases.append(Phase(fine_tune_epochs, 1e-4, fine_tune_layers, name="fine_tune"))
    return ExperimentConfig(
        model=ModelConfig(backbone=backbone, weights=weights, image_size=SEED_IMAGE_SIZE, attention="none",
                          head_dropout=0.0, augment=AugmentConfig()),
        training=TrainConfig(phases=tuple(phases), batch_size=32),
        description=description,
    )


ABLATION_MODULES = ("none", "se", "cbam", "pam", "gc")

# The quick experiment's schedule until 2026-12-02 (12 passes at a constant 2e-3 under
# ReduceLROnPlateau), which the ablation's and quick_cbam_plain's committed models were
# trained with; the quick experiment itself now anneals over 8 passes (experiments/quick.py).
QUICK_12_PASSES = TrainConfig(phases=(Phase(epochs=12, learning_rate=2e-3),), batch_size=128,
                              plateau_patience=1, plateau_factor=0.5, early_stopping_patience=4)


def ablation_config(attention: str) -> ExperimentConfig:
    """One cell of the attention ablation on the quick protocol: the quick experiment's
    backbone, data and augmentation, with its 12-pass schedule (`QUICK_12_PASSES`); only
    the module after the final feature map changes (reduction 8 for every module; CBAM with
    its normalised spatial gate, as in quick). The 'cbam' cell is the quick model as it was
    trained until 2026-12-02."""
    import dataclasses

    from attention_xai.experiment import load_experiment

    if attention not in ABLATION_MODULES:
        raise ValueError(f"ablation module must be one of {', '.join(ABLATION_MODULES)}, got {attention!r}")
    quick = load_experiment("quick")
    kwargs = {} if attention == "none" else {"reduction": 8, **({"spatial_norm": True} if attention == "cbam" else {})}
    model = dataclasses.replace(quick.model, attention=attention, attention_kwargs=kwargs)
    return dataclasses.replace(quick, model=model, training=QUICK_12_PASSES,
                               description=f"Attention ablation on the quick protocol: small_cnn at 32x32 with "
                                           f"attention={attention}")


def cpu224_config(backbone: str, *, epochs: int, description: str) -> ExperimentConfig:
    """The seed study's 224x224 protocol sized for a CPU: the backbone + CBAM from scratch
    on the seed study's 20% training subset (12,000 digits, seeded and class-stratified),
    validated on 2,000 held-out training digits (an epoch's validation stays short), tested
    on all 10,000 test digits."""
    import dataclasses

    base = seed_config(backbone, attention="cbam", weights=None, epochs=epochs, description=description)
    return dataclasses.replace(base, training=dataclasses.replace(base.training, train_subset=12000,
                                                                  validation_size=2000))
