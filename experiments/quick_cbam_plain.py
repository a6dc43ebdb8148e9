"""The quick experiment with CBAM's spatial gate as a bare convolution and sigmoid (no
BatchNormalization): the saturating variant the quick model used before, kept so that the
README's comparison of attention-map informativeness can be rerun. It keeps the 12-pass
schedule it was trained with (the quick experiment's until 2026-12-02)."""

import dataclasses

from attention_xai.config import ExperimentConfig
from attention_xai.experiment import load_experiment
from attention_xai.presets import QUICK_12_PASSES


def config() -> ExperimentConfig:
    quick = load_experiment("quick")
    model = dataclasses.replace(quick.model, attention_kwargs={**quick.model.attention_kwargs, "spatial_norm": False})
    return dataclasses.replace(quick, model=model, training=QUICK_12_PASSES,
                               description="small_cnn (32-64, strided stem) + CBAM (bare sigmoid spatial gate) "
                                           "at 32x32, rotation/translation/elastic augmentation")
