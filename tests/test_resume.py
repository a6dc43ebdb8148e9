"""An interrupted `train` continues the run it was: a real process, killed with SIGKILL in the
middle of an epoch, resumed by running the same command again, ends with the weights of a run
that was never interrupted, bit for bit."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # starts three training processes


# Augmentation (half the digits) and dropout: both random streams must resume where they were.
# One pass checked twice (checks_per_epoch=2): the two Keras epochs are the pass's two halves,
# so the kill lands in the second half and the resumed run must pick the same half again.
EXPERIMENT = '''
from attention_xai.config import AugmentConfig, ExperimentConfig, ModelConfig, Phase, TrainConfig


def config():
    return ExperimentConfig(
        model=ModelConfig(backbone="small_cnn", backbone_kwargs={"widths": (16, 32), "stem_stride": 2},
                          image_size=32, attention="cbam", head_dropout=0.2,
                          augment=AugmentConfig(probability=0.5)),
        training=TrainConfig(phases=(Phase(1, 3e-3),), batch_size=32, validation_size=64, train_limit=2048,
                             test_limit=128, plateau_patience=1, plateau_factor=0.5, checks_per_epoch=2),
        seed=3,
    )
'''


def train(experiment: Path, models: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "attention_xai", "train", str(experiment), "--quiet",
                             "--models-dir", str(models), "--reports-dir", str(models.parent / "reports")],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err


def test_a_run_killed_mid_epoch_resumes_to_the_same_weights(tmp_path):
    experiment = tmp_path / "tiny_resume.py"
    experiment.write_text(EXPERIMENT)
    whole, killed = tmp_path / "whole" / "models", tmp_path / "killed" / "models"
    finish(train(experiment, whole))
    with open(whole / "tiny_resume" / "history.csv") as f:
        second_epoch = float(f.read().splitlines()[2].split(",")[-1])  # seconds, on this machine

    process = train(experiment, killed)
    state_file = killed / "tiny_resume" / "checkpoints" / "state.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            time.sleep(0.02)
            continue
        if state["epochs_done"] >= 1:
            time.sleep(0.4 * second_epoch)  # about half-way through the second (and last) epoch
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-epoch"
    assert json.loads(state_file.read_text())["epochs_done"] == 1  # killed inside the second epoch
    assert not (killed / "tiny_resume" / "model.keras").exists()

    finish(train(experiment, killed))  # the same command again
    a = keras.saving.load_model(whole / "tiny_resume" / "model.keras")
    b = keras.saving.load_model(killed / "tiny_resume" / "model.keras")
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.weights, b.weights):
        assert np.array_equal(keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y)), x.path
    ma, mb = (json.loads((d / "tiny_resume" / "metrics.json").read_text()) for d in (whole, killed))
    assert ma["test_loss"] == mb["test_loss"] and ma["best_epoch"] == mb["best_epoch"]
    ha, hb = ((d / "tiny_resume" / "history.csv").read_text().splitlines() for d in (whole, killed))
    assert [line.split(",")[:7] for line in ha] == [line.split(",")[:7] for line in hb]  # all but seconds
