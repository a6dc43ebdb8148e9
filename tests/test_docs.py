"""The Python snippets of the README and docs/ run as written: the README's block on the
committed quick model, then the methods and counterfactuals pages' blocks in the same
namespace (they use its `model` and `digits`), with `targets` the runner-up classes."""

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow  # loads the committed models and builds ResNet50: `make test`



def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_every_python_snippet_runs_as_written(monkeypatch):
    monkeypatch.chdir(ROOT)  # the snippets name committed files by their repository paths
    pages = [ROOT / "README.md", ROOT / "docs" / "methods.md", ROOT / "docs" / "counterfactuals.md"]
    blocks = {page.name: python_blocks(page) for page in pages}
    assert [len(b) for b in blocks.values()] == [1, 1, 1], "a snippet was added or removed: run it here too"
    namespace: dict = {}
    exec(blocks["README.md"][0], namespace)
    assert namespace["probabilities"].shape == (8, 10) and namespace["resnet"].name
    assert namespace["maps"]["attention"]["spatial"].shape == (8, 8, 8)
    namespace["targets"] = np.argsort(-namespace["probabilities"], axis=1)[:, 1]
    exec(blocks["methods.md"][0], namespace)
    assert namespace["explanation"].maps.shape == (8, 28, 28)
    exec(blocks["counterfactuals.md"][0], namespace)
    assert namespace["result"].valid.any()
