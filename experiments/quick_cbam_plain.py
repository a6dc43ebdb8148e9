"""The quick experiment with CBAM's spatial branch as its authors build it (convolution,
BatchNormalization, sigmoid): does the spatial gate stop saturating, at the same accuracy?"""

import dataclasses

from attention_xai.config import ExperimentConfig
from attention_xai.experiment import load_experiment


def config() -> ExperimentConfig:
    quick = load_experiment("quick")
    model = dataclasses.replace(quick.model, attention_kwargs={**quick.model.attention_kwargs, "spatial_norm": True})
    return dataclasses.replace(quick, model=model,
                               description=quick.description + "; CBAM spatial gate with BatchNormalization")
