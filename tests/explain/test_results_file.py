"""Results that save and load themselves: one .npz per result with a schema version, read
back equal, and an older schema refused in one line that names the command to make it again."""

import json
import shutil

import numpy as np
import pytest
from conftest import ROOT

from attention_xai.errors import ArtifactError
from attention_xai.explain.analysis import Analysis
from attention_xai.explain.base import Explanation
from attention_xai.explain.counterfactual.analysis import CounterfactualAnalysis
from attention_xai.explain.counterfactual.base import Counterfactuals
from attention_xai.explain.results_file import SCHEMA

QUICK = ROOT / "saved_models" / "quick"


def _same(a, b):
    """Dataclass results equal field by field (arrays exactly, NaN where NaN)."""
    assert type(a) is type(b)
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=name)
        elif isinstance(x, list) and x and hasattr(x[0], "__dataclass_fields__"):
            assert len(x) == len(y)
            for u, v in zip(x, y):
                _same(u, v)
        elif hasattr(x, "__dataclass_fields__"):
            _same(x, y)
        else:
            assert json.dumps(dict(x) if hasattr(x, "keys") else x, default=str, sort_keys=True) == \
                json.dumps(dict(y) if hasattr(y, "keys") else y, default=str, sort_keys=True), name


def test_an_explanation_and_counterfactuals_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    explanation = Explanation(method="occlusion", maps=rng.normal(size=(3, 28, 28)), targets=[1, 2, 3],
                              params={"window": 4, "fill": 0.0}, seconds=0.5, forward_passes=507)
    _same(explanation, Explanation.load(explanation.save(tmp_path / "e.npz")))
    digits = rng.uniform(size=(2, 28, 28, 1))
    found = Counterfactuals(method="revise", digits=digits, counterfactuals=np.stack([digits[0], digits[1] * np.nan]),
                            targets=[3, 4], valid=[True, False], predictions=[3, -1], confidence=[0.9, np.nan],
                            forward_passes=[20, 20], gradient_passes=[268, 500], seconds=[1.0, 1.5],
                            params={"kappa": 8.0})
    _same(found, Counterfactuals.load(found.save(tmp_path / "c.npz")))
    with pytest.raises(ArtifactError, match="holds explanation, not counterfactuals"):
        Counterfactuals.load(tmp_path / "e.npz")


def test_both_stages_analyses_round_trip_through_their_files(tmp_path):
    """The committed quick experiment's files load, save again and load equal."""
    for cls, path in ((Analysis, QUICK / "attributions" / "maps.npz"),
                      (CounterfactualAnalysis, QUICK / "counterfactuals" / "counterfactuals.npz")):
        analysis = cls.load(path)
        assert len(analysis.images) == 8
        again = cls.load(analysis.save(tmp_path / path.name))
        _same(analysis, again)
    assert analysis.results and analysis.results[0].forward_passes.dtype == np.int64


def test_an_older_schema_is_refused_in_one_line_naming_the_command(tmp_path):
    folder = tmp_path / "models" / "quick" / "counterfactuals"
    folder.mkdir(parents=True)
    with np.load(QUICK / "counterfactuals" / "counterfactuals.npz") as f:
        data = {k: f[k] for k in f.files if k not in ("schema", "content")}
    np.savez(folder / "counterfactuals.npz", **data)  # as files were written before schemas
    with pytest.raises(ArtifactError) as error:
        CounterfactualAnalysis.load(folder / "counterfactuals.npz")
    message = str(error.value)
    assert "\n" not in message and f"has result schema 1 and this version reads schema {SCHEMA}" in message
    assert "`python -m attention_xai counterfactual quick`" in message
    assert "experiments/tools/upgrade_results.py" in message


def test_the_converter_brings_a_schema_1_file_to_today(tmp_path):
    """Schema 1 named the counterfactual costs queries; the converter renames them, and the
    file then loads with the same numbers."""
    import sys

    sys.path.insert(0, str(ROOT / "experiments" / "tools"))
    try:
        from upgrade_results import main as upgrade
    finally:
        sys.path.pop(0)
    today = CounterfactualAnalysis.load(QUICK / "counterfactuals" / "counterfactuals.npz")
    with np.load(QUICK / "counterfactuals" / "counterfactuals.npz") as f:
        data = {k.replace("_passes_", "_queries_"): f[k] for k in f.files if k not in ("schema", "content")}
    tables = json.loads(str(data["tables"]))
    data["tables"] = np.array(json.dumps({name: [{k.replace("_passes", "_queries"): v for k, v in row.items()}
                                                 for row in rows] for name, rows in tables.items()}))
    old = tmp_path / "counterfactuals.npz"
    np.savez(old, **data)
    shutil.copy(QUICK / "attributions" / "maps.npz", tmp_path / "maps.npz")  # already current: left alone
    assert upgrade([str(tmp_path)]) == 0
    _same(today, CounterfactualAnalysis.load(old))
    assert "forward_passes_per_digit" in CounterfactualAnalysis.load(old).summary[0]
