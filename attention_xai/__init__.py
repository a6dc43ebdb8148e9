"""attention_xai: attention-augmented CNNs on MNIST, and why they decide what they decide.

Importing the package registers its custom Keras layers, so a saved classifier loads with
`keras.saving.load_model(path)` (safe mode on) after `import attention_xai`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from attention_xai.config import AugmentConfig, ExperimentConfig, ModelConfig, Phase, TrainConfig  # noqa: E402
from attention_xai.data import load_mnist  # noqa: E402
from attention_xai.models import build_classifier, load_classifier  # noqa: E402

__all__ = ["AugmentConfig", "ExperimentConfig", "ModelConfig", "Phase", "TrainConfig", "__version__",
           "build_classifier", "load_classifier", "load_mnist"]
