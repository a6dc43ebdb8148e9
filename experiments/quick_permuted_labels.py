"""The quick experiment trained on randomly permuted labels: Adebayo et al.'s data
randomisation test compares each attribution method's maps of this model with the quick
model's own on the same digits. A method whose maps stay the same explains the digit,
not what the model learned from its labels. Test accuracy is that of a model that learned
no digit (about 10%)."""

import dataclasses

from attention_xai.config import ExperimentConfig
from attention_xai.experiment import load_experiment


def config() -> ExperimentConfig:
    quick = load_experiment("quick")
    return dataclasses.replace(quick, training=dataclasses.replace(quick.training, permute_labels=True),
                               description=quick.description + "; trained on permuted labels (data randomisation)")
