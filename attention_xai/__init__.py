"""attention_xai: attention-augmented CNNs on MNIST, and why they decide what they decide.

Importing the package registers its custom Keras layers, so a saved classifier loads with
`keras.saving.load_model(path)` (safe mode on) after `import attention_xai`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's default CPU allocator returns large buffers to the system after every step;
# where the kernel backs memory with transparent huge pages only on request ("madvise", the
# default of common distributions) that costs minor page faults and kernel time on every
# step. The BFC allocator keeps them. Set TF_CPU_ALLOCATOR_USE_BFC=false to opt out; it acts
# only if attention_xai is imported before TensorFlow. Measured in experiments/benchmarks/bench_training.py.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

__version__ = "0.1.0"

from attention_xai.config import AugmentConfig, ExperimentConfig, ModelConfig, Phase, TrainConfig  # noqa: E402
from attention_xai.data import load_mnist  # noqa: E402
from attention_xai.models import build_classifier, load_classifier  # noqa: E402

__all__ = ["AugmentConfig", "ExperimentConfig", "ModelConfig", "Phase", "TrainConfig", "__version__",
           "build_classifier", "load_classifier", "load_mnist"]
