"""The counterfactual and autoencoders commands: a saved model, --images, every error."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from attention_xai.cli import main
from attention_xai.models import load_classifier
from attention_xai.reporting.counterfactuals import load_counterfactual_arrays, redraw_counterfactual_report
from attention_xai.reporting.writing import read_csv
from conftest import ROOT, copy_run, one_error_line

pytestmark = pytest.mark.slow  # trains models or starts processes: `make test`, not `make test-fast`

FAST = ["--methods", "gradient,growing_spheres", "--smoke"]


@pytest.fixture(scope="module")
def trained(tiny_run, tmp_path_factory):
    return copy_run(tiny_run, tmp_path_factory.mktemp("cf") / "run")


JUDGES = ROOT / "saved_models" / "judges"  # the committed judges, as a user's run reads them


def _run(trained, autoencoders, out, *args):
    return main(["counterfactual", "--model", str(trained.model), "--out", str(out), "--autoencoders",
                 str(autoencoders), *([] if "--judges" in args else ["--judges", str(JUDGES)]), *args])


def test_counterfactuals_of_a_saved_model(trained, autoencoders_dir, tmp_path):
    out = tmp_path / "cf"
    assert _run(trained, autoencoders_dir, out, "--good", "1", "--bad", "2", "--set", "gradient.max_iter=80",
                *FAST) == 0
    data = load_counterfactual_arrays(out)
    assert data["methods"].tolist() == ["gradient", "growing_spheres"]
    assert data["kind"].tolist() == ["GOOD", "BAD", "BAD"]
    # auto targets: BAD digits towards their true class, the GOOD one towards its runner-up
    assert (data["targets"][1:] == data["labels"][1:]).all() and data["targets"][0] != data["labels"][0]
    assert '"max_iter": 80' in str(data["params_gradient"])
    model = load_classifier(trained.model)
    for method in data["methods"]:
        valid, cf = data[f"valid_{method}"], data[f"counterfactuals_{method}"]
        assert valid.any()
        # The saved counterfactuals are what the model says they are.
        assert (model.predict(cf[valid], verbose=0).argmax(axis=1) == data["targets"][valid]).all()
        assert np.isnan(cf[~valid]).all()
    rows = read_csv(out / "per_digit.csv")
    assert len(rows) == 6 and {"l0", "l1", "l2", "linf", "im1", "im2", "ynn", "overlap_gradcam", "cout",
                               "judge_mlp_agrees", "judge_mlp_keeps", "judge_lenet_class", "judge_lenet_before",
                               "forward_passes", "gradient_passes", "seconds"} <= set(rows[0])
    summary = read_csv(out / "summary.csv")
    assert [r["method"] for r in summary] == ["gradient", "growing_spheres"]
    assert all(r["verdict"] and "judge_lenet_agrees" in r for r in summary)
    for name in ("methods.png", "methods.pdf", "counterfactual_gradient.png", "counterfactual_growing_spheres.pdf",
                 "bad_digits.png", "bad_digits.pdf"):
        assert (out / name).stat().st_size > 0, name
    (out / "methods.png").unlink()
    redraw_counterfactual_report(out)  # from counterfactuals.npz alone
    assert (out / "methods.png").exists()


def test_overlap_compares_with_the_attribution_methods_named_and_no_others(trained, autoencoders_dir, tmp_path):
    """At 224x224 every overlap method costs what it costs in explain: --overlap keeps
    the stage to the maps a researcher asked for."""
    out = tmp_path / "cf"
    assert _run(trained, autoencoders_dir, out, "--good", "1", "--bad", "1", "--methods", "gradient", "--smoke",
                "--overlap", "occlusion,gradcam", "--pool", "300") == 0
    rows = read_csv(out / "per_digit.csv")
    assert all(int(r["test_index"]) < 300 for r in rows)  # --pool: among the first 300 test digits
    columns = set(rows[0])
    assert {c for c in columns if c.startswith("overlap_")} == {"overlap_occlusion", "overlap_gradcam"}
    assert load_counterfactual_arrays(out)["attribution_methods"].tolist() == ["occlusion", "gradcam"]


def test_runner_up_and_class_number_targets(trained, autoencoders_dir, tmp_path):
    out = tmp_path / "cf"
    args = ["--good", "1", "--bad", "1", "--methods", "gradient", "--smoke"]
    assert _run(trained, autoencoders_dir, out, *args, "--target", "runner-up") == 0
    first = load_counterfactual_arrays(out)
    assert str(first["target_rule"]) == "runner-up" and (first["targets"] != first["predictions"]).all()
    # A class neither digit is predicted as is a valid target for both.
    target = next(k for k in range(10) if k not in first["predictions"])
    assert _run(trained, autoencoders_dir, out, *args, "--target", str(target)) == 0
    data = load_counterfactual_arrays(out)
    assert (data["targets"] == target).all() and str(data["target_rule"]) == str(target)


def test_own_images(trained, autoencoders_dir, tmp_path, mnist):
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(255 - np.kron(mnist.x_test[i], np.ones((3, 3))).astype(np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "cf"
    assert _run(trained, autoencoders_dir, out, "--images", str(folder), "--methods", "gradient", "--smoke") == 0
    data = load_counterfactual_arrays(out)
    assert data["kind"].tolist() == ["INPUT", "INPUT"] and (data["targets"] != data["predictions"]).all()


@pytest.mark.parametrize("args, message", [
    (["--methods", "gradiant"],
     "unknown counterfactual method 'gradiant'; valid: revise_siblings, revise, growing_spheres"),
    (["--methods", "gradient", "--set", "gradient.max_iters=3"], "unknown parameter 'max_iters' for gradient; valid:"),
    (["--methods", "gradient", "--set", "gradient.max_iter=lots"], "gradient.max_iter must be int, got 'lots'"),
    (["--methods", "gradient", "--set", "gradient"], "--set takes method.key=value"),
    (["--methods", "gradient", "--set", "prototype.gamma=1"], "not among the methods run"),
    (["--methods", "gradient", "--target", "true"], "target equals the model's prediction"),
    (["--methods", "gradient", "--target", "12"], "a target class must be in 0-9"),
    (["--methods", "gradient", "--target", "nearest"], "invalid target 'nearest'"),
    (["--methods", "gradient", "--good", "-1"], "argument --good: must be >= 0, got -1"),
    (["--methods", "gradient", "--overlap", "gradcma"], "unknown attribution method 'gradcma'; valid: gradcam"),
    (["--methods", "gradient", "--overlap", " , "], "--overlap names no attribution method"),
])
def test_user_errors_are_one_line_exit_2_and_write_nothing(trained, autoencoders_dir, tmp_path, capsys, args, message):
    out = tmp_path / "cf"
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(_run(trained, autoencoders_dir, out, "--smoke", *args))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and one_error_line(err) and message in err, err
    assert not out.exists()


def test_missing_autoencoders_name_the_command(trained, tmp_path, capsys):
    out = tmp_path / "cf"
    code = _run(trained, tmp_path / "nowhere", out, "--smoke", "--methods", "gradient")
    err = capsys.readouterr().err
    assert code == 2 and one_error_line(err) and "python -m attention_xai autoencoders" in err
    assert not out.exists()


def _foreign_judges(folder: Path) -> Path:
    """Judges of 32x32 images where 28x28 digit judges belong."""
    import keras

    folder.mkdir()
    for name in ("mlp", "lenet"):
        inputs = keras.Input((32, 32, 1))
        keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))).save(
            folder / f"{name}.keras")
    return folder


@pytest.mark.parametrize("case, message", [
    ("missing", "make the judges with `python -m attention_xai judges`"),
    ("foreign", "not 28x28x1 digits -> 10 classes; remake the judges with `python -m attention_xai judges`"),
    ("no vae", "make it with `python -m attention_xai vae`"),
    ("no siblings", "`python -m attention_xai siblings <experiment>` trains them"),
])
def test_missing_or_foreign_judges_and_vae_name_the_command(trained, autoencoders_dir, tmp_path, capsys, case,
                                                            message):
    out = tmp_path / "cf"
    extra = {"missing": ["--judges", str(tmp_path / "nowhere"), "--methods", "gradient"],
             "foreign": ["--judges", str(_foreign_judges(tmp_path / "foreign")), "--methods", "gradient"],
             "no vae": ["--vae", str(tmp_path / "nowhere"), "--methods", "revise"],
             "no siblings": ["--methods", "revise_siblings"]}[case]
    code = _run(trained, autoencoders_dir, out, "--smoke", *extra)
    err = capsys.readouterr().err
    assert code == 2 and one_error_line(err) and message in err, err
    assert not out.exists()


def test_judges_and_vae_commands_smoke(tmp_path):
    assert main(["judges", "--smoke", "--out", str(tmp_path / "judges")]) == 0
    assert sorted(p.name for p in (tmp_path / "judges").iterdir()) == ["lenet.keras", "metrics.json", "mlp.keras"]
    assert main(["vae", "--smoke", "--latent", "4", "--out", str(tmp_path / "vae")]) == 0
    assert sorted(p.name for p in (tmp_path / "vae").iterdir()) == ["decoder.keras", "encoder.keras", "metrics.json"]
    # Their training seconds mean little without the CPU (2-core machines here differ about 3x).
    for folder in ("judges", "vae"):
        assert json.loads((tmp_path / folder / "metrics.json").read_text())["machine"]["vector_extensions"]


def test_images_of_the_wrong_range_are_refused(trained):
    from attention_xai.errors import ConfigError
    from attention_xai.explain.counterfactual import COUNTERFACTUALS

    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        COUNTERFACTUALS.get("gradient")().generate(load_classifier(trained.model),
                                                   np.full((1, 28, 28, 1), 255.0, "float32"), np.array([1]))


def test_autoencoders_command_smoke(tmp_path):
    assert main(["autoencoders", "--smoke", "--out", str(tmp_path / "ae")]) == 0
    names = sorted(p.name for p in (tmp_path / "ae").iterdir())
    assert names == ["all.keras", *[f"class_{k}.keras" for k in range(10)], "metrics.json"]
    assert json.loads((tmp_path / "ae" / "metrics.json").read_text())["machine"]["cpu"]


@pytest.mark.parametrize("argv, message", [
    (["autoencoders", "--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["cfrl", "--steps", "-5"], "argument --steps: must be >= 1"),
    (["counterfactual", "--bad", "two"], "argument --bad: expected an integer, got 'two'"),
])
def test_counts_are_validated_when_parsed(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and one_error_line(err) and message in err


def test_report_redraws_every_figure_byte_for_byte(trained, autoencoders_dir, tmp_path):
    """report rebuilds figures and index.html from saved arrays; the same arrays give the same bytes."""
    import hashlib

    report_dir = trained.report_dir
    common = ["--model", str(trained.model), "--good", "1", "--bad", "1", "--smoke"]
    assert main(["explain", *common, "--out", str(report_dir / "attributions"), "--methods", "gradcam,occlusion"]) == 0
    assert main(["counterfactual", *common, "--out", str(report_dir / "counterfactuals"), "--methods", "gradient",
                 "--autoencoders", str(autoencoders_dir), "--judges", str(JUDGES)]) == 0
    report = ["report", "tiny", "--models-dir", str(trained.models_root), "--reports-dir",
              str(trained.reports_root)]
    assert main(report) == 0

    def drawn():
        return {p.relative_to(report_dir): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(report_dir.rglob("*")) if p.suffix in (".png", ".pdf", ".html")}

    first = drawn()
    assert any(str(p).startswith("counterfactuals/") for p in first) and Path("index.html") in first
    for path in first:
        (report_dir / path).unlink()
    assert main(report) == 0
    assert drawn() == first


TINY_EXPERIMENT = '''
from conftest import tiny_experiment


def config():
    return tiny_experiment(epochs=2)
'''


def test_siblings_command_then_revise_siblings_finds_them(trained, autoencoders_dir, tmp_path, capsys):
    """`siblings` trains the experiment again with other seeds beside its model, and the
    counterfactual command hands that folder to revise_siblings without being told."""
    import shutil

    (tmp_path / "tiny.py").write_text(TINY_EXPERIMENT)
    model_dir = tmp_path / "models" / "tiny"
    model_dir.mkdir(parents=True)
    shutil.copy(trained.model, model_dir / "model.keras")
    common = ["--models-dir", str(tmp_path / "models"), "--quiet"]
    # The model's own seed (tiny_experiment: 1) is no sibling.
    assert main(["siblings", str(tmp_path / "tiny.py"), "--seeds", "1", *common]) == 2
    assert one_error_line(capsys.readouterr().err) and not (model_dir / "siblings").exists()
    assert main(["siblings", str(tmp_path / "tiny.py"), "--seeds", "2", "--epochs", "1", *common]) == 0
    record = json.loads((model_dir / "siblings" / "metrics.json").read_text())
    assert record["seeds"] == [2] and record["epochs"] == 1 and record["machine"]["vector_extensions"]
    sibling = load_classifier(model_dir / "siblings" / "seed2" / "model.keras")
    model = load_classifier(model_dir / "model.keras")
    digits = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    assert not np.allclose(sibling.predict(digits, verbose=0), model.predict(digits, verbose=0))  # another seed
    out = tmp_path / "cf"
    assert main(["counterfactual", "--model", str(model_dir / "model.keras"), "--out", str(out), "--autoencoders",
                 str(autoencoders_dir), "--judges", str(JUDGES), "--methods", "revise_siblings", "--smoke",
                 "--good", "1", "--bad", "1"]) == 0
    data = load_counterfactual_arrays(out)
    assert str(model_dir / "siblings") in str(data["params_revise_siblings"])
