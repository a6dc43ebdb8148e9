"""The explain command: experiment models, the --images path, errors."""

import logging

import numpy as np
import pytest
from PIL import Image

from attention_xai.cli import main
from attention_xai.data.images import load_digit_images, to_mnist_digit
from attention_xai.explain.analysis import Analysis
from attention_xai.reporting.attributions import redraw_attribution_report
from conftest import copy_run, one_error_line

pytestmark = pytest.mark.slow  # trains models or starts processes: `make test`, not `make test-fast`

FAST = ["--methods", "gradcam,occlusion,attention"]


@pytest.fixture(scope="module")
def trained(tiny_run, tmp_path_factory):
    return copy_run(tiny_run, tmp_path_factory.mktemp("explain") / "run")


def test_explain_a_saved_model_writes_maps_figures_and_tables(trained, tmp_path):
    out = tmp_path / "attr"
    code = main(["explain", "--model", str(trained.model), "--out", str(out), "--good", "2", "--bad", "2", *FAST,
                 "--table-digits", "12", "--sanity-digits", "3"])
    assert code == 0
    analysis = Analysis.load(out / "maps.npz")
    assert [e.method for e in analysis.explanations] == ["gradcam", "occlusion", "attention"]
    s = analysis.samples
    assert s.kind.tolist() == ["GOOD", "GOOD", "BAD", "BAD"]
    # The file keeps the figure's 4 digits and maps; the tables measured 12, the sanity check 3.
    assert all(e.maps.shape == (4, 28, 28) for e in analysis.explanations)
    assert {row["digits"] for row in analysis.faithfulness} == {12}
    assert {row["digits"] for row in analysis.sanity if "spearman" in row} == {3}
    assert "12" in (out / "faithfulness.csv").read_text().splitlines()[1].split(",")
    assert (s.predictions[:2] == s.labels[:2]).all() and (s.predictions[2:] != s.labels[2:]).all()
    for name in ("attribution_grid.png", "attribution_grid.pdf", "samples.csv", "faithfulness.csv", "sanity.csv",
                 "agreement.csv"):
        assert (out / name).stat().st_size > 0, name
    sanity = (out / "sanity.csv").read_text()
    assert "pass" in sanity or "FAIL" in sanity
    # Figures are redrawn from maps.npz alone.
    (out / "attribution_grid.png").unlink()
    redraw_attribution_report(out)
    assert (out / "attribution_grid.png").exists()


def _write_digit_png(path, digit_uint8, scale=3, invert=True):
    big = np.kron(digit_uint8, np.ones((scale, scale))).astype(np.uint8)
    Image.fromarray(255 - big if invert else big).save(path)


def test_own_images_follow_the_mnist_rules(mnist, tmp_path):
    _write_digit_png(tmp_path / "a.png", mnist.x_test[0])                  # black on white, 84x84
    _write_digit_png(tmp_path / "b.jpg", mnist.x_test[1], invert=False)    # white on black
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    digits, names, skipped = load_digit_images(tmp_path)
    assert names == ["a.png", "b.jpg"] and [n for n, _ in skipped] == ["broken.png"]
    assert digits.shape == (2, 28, 28, 1) and digits.dtype == np.float32 and 0 <= digits.min() <= digits.max() <= 1
    for digit, original in zip(digits, mnist.x_test[:2]):
        correlation = np.corrcoef(digit[..., 0].ravel(), original.ravel())[0, 1]
        assert correlation > 0.8
    with pytest.raises(ValueError, match="empty"):
        to_mnist_digit(np.full((40, 40), 255, np.uint8))


def test_explain_own_images_from_the_command_line(trained, mnist, tmp_path, caplog):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(2):
        _write_digit_png(folder / f"d{i}.png", mnist.x_test[i])
    (folder / "zz_broken.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        code = main(["explain", "--model", str(trained.model), "--images", str(folder), "--out", str(out),
                     "--no-metrics", *FAST])
    assert code == 0 and "zz_broken.png" in caplog.text
    analysis = Analysis.load(out / "maps.npz")
    assert analysis.samples.kind.tolist() == ["INPUT", "INPUT"] and len(analysis.explanations) == 3
    assert not (out / "faithfulness.csv").exists()


def _one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and one_error_line(err), err
    return err


def test_explain_errors_are_one_line(trained, tmp_path, capsys):
    model = str(trained.model)
    assert "unknown attribution method 'gradcam++'" in _one_line_error(
        capsys, ["explain", "--model", model, "--methods", "gradcam++"])
    assert "--images needs --model" in _one_line_error(capsys, ["explain", "quick", "--images", str(tmp_path)])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no readable digit image" in _one_line_error(
        capsys, ["explain", "--model", model, "--images", str(empty), "--out", str(tmp_path / "o")])
    assert "no trained model for 'nothing_here'" in _one_line_error(
        capsys, ["explain", "quick", "--name", "nothing_here", "--models-dir", str(tmp_path)])
    foreign = tmp_path / "foreign.keras"
    import keras

    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(foreign)
    assert "a digit classifier maps" in _one_line_error(capsys, ["explain", "--model", str(foreign)])
    out = ["--model", model, "--out", str(tmp_path / "o"), "--methods", "occlusion,lime"]
    assert "unknown parameter 'windw' for occlusion; valid: window, stride, fill" in _one_line_error(
        capsys, ["explain", *out, "--set", "occlusion.windw=3"])
    assert "lime.num_samples must be int, got 'many'" in _one_line_error(
        capsys, ["explain", *out, "--set", "lime.num_samples=many"])
    assert "not among the methods run" in _one_line_error(capsys, ["explain", *out, "--set", "gradcam.layer=x"])
    with pytest.raises(SystemExit) as exit_info:  # argparse's own refusal
        main(["explain", *out, "--pool", "0"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and one_error_line(err) and "argument --pool: must be >= 1, got 0" in err
    assert "--pool chooses among the test digits" in _one_line_error(
        capsys, ["explain", *out, "--pool", "50", "--images", str(tmp_path)])
    assert not (tmp_path / "o").exists()


def test_set_reaches_the_method_and_is_recorded(trained, tmp_path):
    out = tmp_path / "attr"
    assert main(["explain", "--model", str(trained.model), "--out", str(out), "--good", "1", "--bad", "1",
                 "--methods", "occlusion", "--set", "occlusion.window=3", "--set", "occlusion.stride=3",
                 "--no-metrics"]) == 0
    explanations = Analysis.load(out / "maps.npz").explanations
    assert explanations[0].params["window"] == 3 and explanations[0].params["stride"] == 3


def test_the_report_says_how_the_digits_were_chosen(trained, tmp_path, mnist):
    from attention_xai.reporting.attributions import attribution_sections

    out = tmp_path / "attr"
    assert main(["explain", "--model", str(trained.model), "--out", str(out), "--good", "1", "--bad", "1",
                 "--rule", "random", "--target", "true", "--methods", "gradcam", "--no-metrics"]) == 0
    texts = " ".join(section.get("text", "") for section in attribution_sections(out))
    assert "drawn at random" in texts and "Maps explain the true class" in texts
    assert "most confident" not in texts and "predicts" not in texts
    folder = tmp_path / "digits"
    folder.mkdir()
    _write_digit_png(folder / "a.png", mnist.x_test[0])
    assert main(["explain", "--model", str(trained.model), "--out", str(out), "--images", str(folder),
                 "--methods", "gradcam", "--no-metrics"]) == 0
    texts = " ".join(section.get("text", "") for section in attribution_sections(out))
    assert "Your own images" in texts


def test_pool_chooses_the_digits_among_the_first_test_digits_and_the_report_says_so(trained, tmp_path):
    """A 224x224 model predicts 10,000 digits in minutes: --pool N keeps both stages to the first N."""
    from attention_xai.reporting.attributions import attribution_sections

    out = tmp_path / "attr"
    assert main(["explain", "--model", str(trained.model), "--out", str(out), "--good", "2", "--bad", "2",
                 "--methods", "gradcam", "--no-metrics", "--pool", "300"]) == 0
    analysis = Analysis.load(out / "maps.npz")
    assert analysis.selection["pool_digits"] == 300 and (analysis.samples.indices < 300).all()
    assert len(analysis.samples.indices) == 4
    texts = " ".join(section.get("text", "") for section in attribution_sections(out))
    assert "among the first 300 test digits" in texts
    assert main(["explain", "--model", str(trained.model), "--out", str(out), "--good", "2", "--bad", "2",
                 "--methods", "gradcam", "--no-metrics"]) == 0
    everything = Analysis.load(out / "maps.npz")
    assert everything.selection["pool_digits"] == 10000
    assert "among the first" not in " ".join(section.get("text", "") for section in attribution_sections(out))


OWN_PARAMS = '''
import dataclasses

from conftest import tiny_experiment


def config():
    return dataclasses.replace(tiny_experiment(epochs=1), method_params=%r)
'''


def test_an_experiments_own_method_params_are_defaults_that_set_overrides(trained, tmp_path, capsys):
    """The experiment file's method_params reach the method (a quick model can carry smaller
    budgets); --set still wins, and a method the experiment names wrongly is a one-line error."""
    experiment = tmp_path / "tiny.py"
    experiment.write_text(OWN_PARAMS % {"occlusion": {"window": 7, "stride": 4}, "lime": {"num_samples": 10}})
    common = ["--models-dir", str(trained.models_root), "--good", "1", "--bad", "1", "--methods", "occlusion",
              "--no-metrics"]
    assert main(["explain", str(experiment), "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["explain", str(experiment), "--out", str(tmp_path / "b"), "--set", "occlusion.window=5", *common]) == 0
    params = [Analysis.load(tmp_path / folder / "maps.npz").explanations[0].params for folder in ("a", "b")]
    assert [(p["window"], p["stride"]) for p in params] == [(7, 4), (5, 4)]
    experiment.write_text(OWN_PARAMS % {"occlusionn": {"window": 7}})
    assert "method_params name 'occlusionn', which is not a method" in _one_line_error(
        capsys, ["explain", str(experiment), "--out", str(tmp_path / "c"), *common])
