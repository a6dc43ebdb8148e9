"""Run by test_any_backend in a fresh process: two logical CPU devices (set before the
backend starts), one tiny data-parallel training, a JSON line of what happened."""

import dataclasses
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for conftest

import keras  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

import attention_xai  # noqa: E402, F401
from attention_xai.artifacts import ExperimentPaths  # noqa: E402
from attention_xai.data import load_mnist, to_model_input  # noqa: E402
from attention_xai.models import load_classifier  # noqa: E402
from attention_xai.training import train_experiment  # noqa: E402
from conftest import tiny_experiment  # noqa: E402

config = tiny_experiment(epochs=3)
# Odd sizes everywhere: every last batch must be padded to split between the two devices.
config = dataclasses.replace(config, training=dataclasses.replace(
    config.training, distribute=True, train_limit=250, validation_size=63, test_limit=101))
data = load_mnist()
result = train_experiment(config, data, ExperimentPaths("dp", sys.argv[1]), verbose=0)
reloaded = load_classifier(ExperimentPaths("dp", sys.argv[1]).model)
digits = to_model_input(data.x_test[:5])
print(json.dumps({"backend": keras.backend.backend(), "replicas": result.metrics["replicas"],
                  "losses": [row["loss"] for row in result.history], "test_size": result.metrics["test_size"],
                  "confusion_total": int(np.sum(result.metrics["confusion_matrix"])),
                  "reloaded_shape": list(keras.ops.convert_to_numpy(reloaded(digits)).shape)}))
