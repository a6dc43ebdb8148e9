"""The command line: a smoke run end to end in a subprocess, the error cases in-process."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import pytest

from attention_xai.artifacts import keras_home
from attention_xai.cli import build_parser, main
from conftest import ROOT, one_error_line

pytestmark = pytest.mark.slow  # trains models or starts processes: `make test`, not `make test-fast`



def _cli(tmp_path, *args):
    return ["--models-dir", str(tmp_path / "models"), "--reports-dir", str(tmp_path / "reports"), *args]


def test_smoke_run_end_to_end_in_a_fresh_process(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "attention_xai", "run", "quick", "--smoke", "--quiet",
                           *_cli(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    # The smoke model has no seed siblings: the default method that needs them is left out, and said so.
    assert "revise_siblings: left out, no seed siblings in" in done.stderr
    model_dir, report_dir = tmp_path / "models" / "quick_smoke", tmp_path / "reports" / "quick_smoke"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["config"]["model"]["attention"] == "cbam" and metrics["test_size"] == 128
    for name in ("training_curves.png", "training_curves.pdf", "confusion_matrix.png", "confusion_matrix.pdf",
                 "per_class_accuracy.csv", "summary.csv", "index.html"):
        assert (report_dir / name).stat().st_size > 0, name
    for name in ("attribution_grid.png", "faithfulness.csv", "sanity.csv", "agreement.csv"):
        assert (report_dir / "attributions" / name).stat().st_size > 0, name
    # The arrays the figures are drawn from stay with the model; reports/ can be rebuilt.
    assert (model_dir / "attributions" / "maps.npz").stat().st_size > 0
    assert (model_dir / "counterfactuals" / "counterfactuals.npz").stat().st_size > 0
    page = (report_dir / "index.html").read_text()
    assert "training_curves.png" in page and "confusion_matrix.png" in page
    assert "attributions/attribution_grid.png" in page and "Sanity check" in page
    for name in ("methods.png", "summary.csv", "per_digit.csv"):
        assert (report_dir / "counterfactuals" / name).stat().st_size > 0, name
    assert "counterfactuals/methods.png" in page and "Counterfactual metrics per method" in page
    # The exported model loads in a fresh process with only `import attention_xai`.
    check = ("import attention_xai, keras, numpy as np; "
             f"m = keras.saving.load_model({str(model_dir / 'model.keras')!r}); "
             "print(m.predict(np.zeros((1, 28, 28, 1), 'float32'), verbose=0).shape)")
    loaded = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=300)
    assert loaded.stdout.strip() == "(1, 10)", loaded.stderr[-2000:]


def _error_line(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    err = capsys.readouterr().err.strip()
    return exit_info.value.code, err


@pytest.mark.parametrize("argv, message", [
    (["train", "no_such_experiment"], "unknown experiment 'no_such_experiment'; valid: "),
    (["train", "quick", "--smoke", "--backbone", "ResNet51"], "unknown backbone 'ResNet51'; valid: "),
    (["train", "quick", "--smoke", "--attention", "transformer"],
     "unknown attention module 'transformer'; valid: none"),
    (["train", "quick", "--smoke", "--backbone", "MobileNetV2", "--weights", "imagenet"],
     "ImageNet weights for MobileNetV2"),
    (["train", "quick", "--smoke", "--image-size", "8"], "image_size must be"),
    (["train", "quick", "--smoke", "--image-size", "0"], "argument --image-size: must be >= 1, got 0"),
    (["train", "quick", "--smoke", "--image-size", "-32"], "argument --image-size: must be >= 1"),
    (["run", "quick", "--smoke", "--bad", "-2"], "argument --bad: must be >= 0, got -2"),
    (["explain", "quick", "--smoke", "--table-digits", "-1"], "argument --table-digits: must be >= 0, got -1"),
    (["run", "quick", "--smoke", "--tabel-digits", "50"], "unrecognized arguments: --tabel-digits 50"),
    (["run", "quick", "--smoke", "--set", "occlusion.windw=3"], "unknown parameter 'windw' for occlusion"),
    (["run", "quick", "--smoke", "--set", "gradient.beta=big"], "gradient.beta must be float, got 'big'"),
    (["train", "quick", "--smoke", "--data", "missing.npz"], "MNIST file not found"),
    (["report", "quick", "--smoke"], "no artifacts for 'quick_smoke'"),
    (["frobnicate"], "invalid choice"),
])
def test_user_errors_are_one_line_exit_2_and_write_nothing(capsys, tmp_path, argv, message):
    if "imagenet" in argv and list((keras_home() / "models").glob("mobilenet_v2_weights*no_top.h5")):
        pytest.skip("this machine has the ImageNet weights cached")
    code, err = _error_line(capsys, [*argv[:2], *_cli(tmp_path), *argv[2:]] if len(argv) > 1 else argv)
    assert code == 2
    assert one_error_line(err) and message in err
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").rglob("*.keras"))


def test_a_broken_experiment_file_is_a_config_error(capsys, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from attention_xai.config import Phase\n\ndef config():\n    return Phase(epochs=-1)\n")
    code, err = _error_line(capsys, ["train", str(bad), *_cli(tmp_path)])
    assert code == 2 and "phase epochs must be a positive integer" in err and one_error_line(err)


def _corrupt(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 definitely not a keras archive")
    return path


def _foreign(path: Path) -> Path:
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.save(path)
    return path


def _truncated(path: Path) -> Path:
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(path)
    path.write_bytes(path.read_bytes()[:300])
    return path


@pytest.mark.parametrize("make, message", [
    (_corrupt, "not a .keras model file"),
    (_foreign, "a digit classifier maps"),
    (_truncated, "not a .keras model file"),
    (lambda p: p, "model file not found"),
])
def test_evaluate_refuses_bad_model_files_in_one_line(capsys, tmp_path, make, message):
    path = make(tmp_path / "model.keras")
    code, err = _error_line(capsys, ["evaluate", "--model", str(path)])
    assert code == 2 and message in err and one_error_line(err)


def test_every_command_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"train", "explain", "counterfactual", "autoencoders", "report", "run", "evaluate", "list"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_evaluate_prints_accuracy_of_a_saved_model(capsys, tmp_path, tiny_run):
    from conftest import copy_run

    paths = copy_run(tiny_run, tmp_path / "run")
    assert main(["evaluate", "--model", str(paths.model), "--limit", "128"]) == 0
    printed = json.loads(capsys.readouterr().out)
    recorded = json.loads(paths.metrics.read_text())
    assert printed["test_size"] == 128 and printed["test_accuracy"] == pytest.approx(recorded["test_accuracy"])
    assert zipfile.is_zipfile(paths.model)


@pytest.mark.parametrize("given, expected", [(None, "true"), ("false", "false")])
def test_bfc_allocator_is_the_default_and_can_be_turned_off(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if given is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = given
    code = "import os, attention_xai; print(os.environ['TF_CPU_ALLOCATOR_USE_BFC'])"
    done = subprocess.run([sys.executable, "-c", code],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.stdout.strip().splitlines()[-1] == expected, done.stderr[-500:]


def test_the_gpu_runner_names_every_seed_configuration_and_runs_one(tmp_path, monkeypatch, capsys):
    """experiments/tools/gpu_runner.py: the three seed backbones and the 224x224 ablation, each a
    real experiment; a run started the way it starts them (a `train` process with the
    module override and --name) writes its artifacts and summary. That run is a tiny
    experiment: the runner's own smoke-sized MobileNetV2 cost 94 s here, and MobileNetV2's
    training step is in tests/backend/test_any_backend.py."""
    import importlib.util

    from attention_xai.experiment import load_experiment

    spec = importlib.util.spec_from_file_location("gpu_runner", ROOT / "experiments" / "tools" / "gpu_runner.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    names = [name for name, _ in runner.runs()]
    assert len(names) == len(set(names)) == 7
    for name, extra in runner.runs():
        config = load_experiment(extra[0] if extra else name)
        assert config.model.image_size == 224 and config.model.weights is None and config.training.train_subset is None
    assert runner.main(["--dry-run", "--precision", "mixed_bfloat16"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert len(lines) == 7 and all("--precision mixed_bfloat16" in line for line in lines)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    tiny = tmp_path / "tiny.py"
    tiny.write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
                    "from conftest import tiny_experiment\n\n\ndef config():\n    return tiny_experiment(epochs=1)\n")
    monkeypatch.setattr(runner, "runs", lambda: [("tiny-se", [str(tiny), "--attention", "se"])])
    summary = tmp_path / "runs.json"
    code = runner.main(["--only", "tiny-se", "--precision", "float32", "--models-dir", str(tmp_path / "models"),
                        "--summary", str(summary)])
    rows = json.loads(summary.read_text())
    assert code == 0 and [r["run"] for r in rows] == ["tiny-se"] and rows[0]["exit_code"] == 0
    metrics = json.loads((tmp_path / "models" / "tiny-se" / "metrics.json").read_text())
    assert metrics["config"]["model"]["attention"] == "se" and rows[0]["test_accuracy"] == metrics["test_accuracy"]
