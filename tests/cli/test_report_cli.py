"""`run --seeds` and `report`: one model per seed, the cross-experiment page with mean and
spread, manifests, regeneration of reports/ from saved artifacts alone, broken artifacts."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from attention_xai.cli import main
from attention_xai.reporting.writing import read_csv
from conftest import one_error_line

pytestmark = pytest.mark.slow  # trains models: `make test`, not `make test-fast`

EXPERIMENT = '''
from conftest import tiny_experiment


def config():
    return tiny_experiment(epochs=1)
'''


@pytest.fixture(scope="module")
def runs(tmp_path_factory, autoencoders_dir, mnist):
    """tiny with seeds 0 and 1 (trained, explained, counterfactuals), and tiny-none (trained only)."""
    root = tmp_path_factory.mktemp("runs")
    (root / "tiny.py").write_text(EXPERIMENT)
    common = ["--models-dir", str(root / "models"), "--reports-dir", str(root / "reports"), "--quiet"]
    assert main(["run", str(root / "tiny.py"), "--seeds", "0,1", *common, "--good", "1", "--bad", "1",
                 "--methods", "gradcam,attention", "--cf-methods", "gradient", "--autoencoders",
                 str(autoencoders_dir)]) == 0
    assert main(["train", str(root / "tiny.py"), "--attention", "none", *common]) == 0
    return root


def _cli(root: Path, models: Path | None = None) -> list[str]:
    return ["--models-dir", str(models or root / "models"), "--reports-dir", str(root / "reports")]


def _hashes(folder: Path) -> dict:
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_seeds_make_one_model_each_with_its_arrays_beside_it(runs):
    models = runs / "models"
    assert sorted(p.name for p in models.iterdir()) == ["tiny-none", "tiny-seed0", "tiny-seed1"]
    metrics = [json.loads((models / f"tiny-seed{s}" / "metrics.json").read_text()) for s in (0, 1)]
    assert [m["seed"] for m in metrics] == [0, 1] and [m["config"]["seed"] for m in metrics] == [0, 1]
    assert metrics[0]["model_sha256"] != metrics[1]["model_sha256"]  # the seed seeds something
    for seed in (0, 1):
        assert (models / f"tiny-seed{seed}" / "attributions" / "maps.npz").is_file()
        assert (models / f"tiny-seed{seed}" / "counterfactuals" / "counterfactuals.npz").is_file()


def test_comparison_page_shows_mean_and_spread_over_seeds(runs):
    assert main(["report", *_cli(runs)]) == 0
    reports = runs / "reports"
    rows = {r["experiment"]: r for r in read_csv(reports / "comparison" / "models.csv")}
    assert set(rows) == {"tiny", "tiny-none"}
    accuracies = [json.loads((runs / "models" / f"tiny-seed{s}" / "metrics.json").read_text())["test_accuracy"]
                  for s in (0, 1)]
    assert rows["tiny"]["n"] == "2" and rows["tiny"]["seeds"] == "0 1" and rows["tiny-none"]["n"] == "1"
    assert float(rows["tiny"]["test_accuracy_mean"]) == pytest.approx(np.mean(accuracies), abs=1e-6)
    assert float(rows["tiny"]["test_accuracy_std"]) == pytest.approx(np.std(accuracies, ddof=1), abs=1e-6)
    records = [json.loads((runs / "models" / f"tiny-seed{s}" / "metrics.json").read_text()) for s in (0, 1)]
    speeds = [m["train_size"] * m["epochs"] / m["train_seconds"] for m in records]  # validation time included
    assert float(rows["tiny"]["train_digits_per_second_mean"]) == pytest.approx(np.mean(speeds), rel=0.01)
    methods = {(r["experiment"], r["method"]): r for r in read_csv(reports / "comparison" / "attributions.csv")}
    assert methods[("tiny", "gradcam")]["n"] == "2" and ("tiny-none", "gradcam") not in methods
    assert methods[("tiny", "gradcam")]["digits per model"] == "100"  # the table's default, the figure shows 2
    # verdicts are counted over models by their first word, whatever detail each model's adds
    sanity = re.fullmatch(r"((pass|FAIL|inconclusive) (\d)/2(, )?)+", methods[("tiny", "gradcam")]["sanity"])
    assert sanity and sum(int(n) for n in re.findall(r"(\d)/2", sanity.group(0))) == 2
    attention = read_csv(reports / "comparison" / "attention.csv")
    assert [r["experiment"] for r in attention] == ["tiny"] and attention[0]["maps"] == "4"  # 2 digits x 2 seeds
    counterfactuals = read_csv(reports / "comparison" / "counterfactuals.csv")
    assert [r["method"] for r in counterfactuals] == ["gradient"]
    # What the judges make of the method travels to the comparison page.
    assert counterfactuals[0]["judges' verdict"] and "judge_lenet_agrees_mean" in counterfactuals[0]
    page = (reports / "index.html").read_text()
    assert "(n=2)" in page and "tiny-seed0/index.html" in page and "tiny-none/index.html" in page


def test_every_figure_has_a_manifest_entry(runs):
    assert main(["report", "tiny-seed0", *_cli(runs)]) == 0
    manifest = json.loads((runs / "reports" / "tiny-seed0" / "manifest.json").read_text())["figures"]
    model = runs / "models" / "tiny-seed0" / "model.keras"
    figures = {p.relative_to(runs / "reports" / "tiny-seed0").as_posix()
               for p in (runs / "reports" / "tiny-seed0").rglob("*") if p.suffix in (".png", ".pdf")}
    assert set(manifest) == figures
    grid = manifest["attributions/attribution_grid.png"]
    assert grid["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest() and grid["seed"] == 0
    assert grid["source"] == ["models/tiny-seed0/attributions/maps.npz"]
    assert set(grid["methods"]) == {"gradcam", "attention"} and grid["methods"]["gradcam"]["layer"] == "attention"
    assert "keras" in grid["versions"] and str(runs) not in json.dumps(manifest)  # no machine paths
    assert manifest["counterfactuals/counterfactual_gradient.png"]["methods"]["gradient"]["seed"] == 0


def _links(page: Path) -> list[str]:
    """Every href and src of an HTML page."""
    from html.parser import HTMLParser

    found = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(value for key, value in attrs if key in ("href", "src") and value)

    Links().feed(page.read_text())
    return found


def test_every_page_links_only_files_that_exist_and_shows_its_figures(runs):
    assert main(["report", *_cli(runs)]) == 0
    reports = runs / "reports"
    pages = [reports / "index.html", *sorted(reports.glob("*/index.html"))]
    assert len(pages) == 4  # the comparison page, tiny-seed0, tiny-seed1, tiny-none
    for page in pages:
        links = _links(page)
        missing = [link for link in links if not (page.parent / link).exists()]
        assert links and missing == [], f"{page}: {missing}"
    shown = [link for link in _links(reports / "index.html") if link.endswith(".png")]
    assert {"comparison/accuracy.png", "comparison/faithfulness_cost.png", "comparison/sanity.png",
            "comparison/counterfactual_judges.png"} <= set(shown)
    page = (reports / "index.html").read_text()
    assert "e+0" not in page and "e-0" not in page  # numbers for people, no exponents
    assert page.count("<div class='scroll'><table>") == 4  # each table scrolls in its own box


def test_deleting_reports_and_rebuilding_gives_the_same_bytes(runs):
    reports = runs / "reports"
    assert main(["report", *_cli(runs)]) == 0
    before = _hashes(reports)
    assert {"index.html", "tiny-seed0/attributions/faithfulness.csv", "tiny-seed1/counterfactuals/summary.csv",
            "tiny-seed0/manifest.json", "comparison/models.csv"} <= {p.as_posix() for p in before}
    shutil.rmtree(reports)
    assert main(["report", *_cli(runs)]) == 0
    assert _hashes(reports) == before


def _broken_copy(runs, tmp_path, damage) -> Path:
    models = tmp_path / "models"
    shutil.copytree(runs / "models", models)
    damage(models)
    return models


@pytest.mark.parametrize("damage, message", [
    (lambda m: (m / "tiny-seed1" / "attributions" / "maps.npz").write_bytes(
        (m / "tiny-seed1" / "attributions" / "maps.npz").read_bytes()[:500]), "maps.npz (truncated or corrupt"),
    (lambda m: (m / "tiny-seed1" / "history.csv").write_text("epoch,loss\n0,1.0\n"),
     "history.csv lacks the column(s) accuracy, val_loss"),
    (lambda m: (m / "tiny-seed1" / "metrics.json").write_text(json.dumps(
        {k: v for k, v in json.loads((m / "tiny-seed1" / "metrics.json").read_text()).items()
         if k != "confusion_matrix"})), "metrics.json is of an older format (no confusion_matrix)"),
])
def test_a_broken_experiment_is_named_and_the_others_are_still_written(runs, tmp_path, capsys, damage, message):
    models = _broken_copy(runs, tmp_path, damage)
    reports = tmp_path / "reports"
    code = main(["report", "--models-dir", str(models), "--reports-dir", str(reports)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("attention_xai: error:")]
    assert code == 2 and len(errors) == 1 and "tiny-seed1" in errors[0] and message in errors[0]
    assert one_error_line(err.replace(errors[0] + "\n", "") + errors[0])
    assert (reports / "tiny-seed0" / "index.html").is_file() and (reports / "tiny-none" / "index.html").is_file()
    assert (reports / "index.html").is_file()


def test_report_of_an_experiment_without_artifacts_says_how_to_make_them(runs, capsys):
    code = main(["report", "nope", *_cli(runs)])
    err = capsys.readouterr().err
    assert code == 2 and "no artifacts for 'nope'" in err and "python -m attention_xai train nope" in err


def test_misspelled_seeds_are_refused(runs, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(runs / "tiny.py"), "--seeds", "0,,1", *_cli(runs)])
    assert exit_info.value.code == 2 and "--seeds" in capsys.readouterr().err
