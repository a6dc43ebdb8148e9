"""The file format of every explain and counterfactual result: one compressed `.npz`.

Every file holds two keys besides its arrays: `schema` (an integer, `SCHEMA` today) and
`content` (what the file holds: "explanation", "counterfactuals", "attributions" for the
explain stage's whole analysis, "counterfactual_analysis" for the counterfactual stage's).
Texts and tables are JSON strings in 0-d arrays, so the file loads with
`allow_pickle=False`. The layout of each content is in docs/reference.md ("Result files").

Schema history:
    1  (no `schema` key) the files written up to 2026-12-02: counterfactual costs were
       `forward_queries` / `gradient_queries`, an analysis did not record skipped methods.
    2  costs are `forward_passes` / `gradient_passes` in both families; `skipped` recorded.

A file of another schema is refused with one line naming the command that makes it again
(and the converter for schema 1: experiments/tools/upgrade_results.py).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from attention_xai.artifacts import atomic_path
from attention_xai.errors import ArtifactError

SCHEMA = 2
UPGRADE = "python experiments/tools/upgrade_results.py"

# The command that makes each content again, given the experiment's name.
REMAKE = {"attributions": "`python -m attention_xai explain {name}`",
          "counterfactual_analysis": "`python -m attention_xai counterfactual {name}`",
          "explanation": "the code that saved it", "counterfactuals": "the code that saved it"}


def as_json(value: Any) -> np.ndarray:
    """A JSON string in a 0-d array (numpy scalars become numbers, anything else text)."""
    return np.array(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def from_json(array: np.ndarray) -> Any:
    return json.loads(str(array))


def save_arrays(path: str | Path, content: str, arrays: Mapping[str, np.ndarray]) -> Path:
    """Writes `arrays` with the schema and content keys, atomically (a refused write is a
    one-line StorageError and leaves any earlier file as it was); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, schema=np.array(SCHEMA), content=np.array(content), **arrays)
    return path


def _experiment_name(path: Path) -> str:
    """The experiment a stage's file belongs to (saved_models/<name>/<stage>/file.npz), or a placeholder."""
    return path.parent.parent.name if path.parent.name in ("attributions", "counterfactuals") else "<experiment>"


def load_arrays(path: str | Path, content: str) -> dict[str, np.ndarray]:
    """Every array of a result file of `content`, without the schema keys.

    Raises:
        ArtifactError: missing, truncated, of another content, or of another schema (the
            message names the command that makes it again).
    """
    path = Path(path)
    remake = REMAKE[content].format(name=_experiment_name(path))
    if not path.is_file():
        raise ArtifactError(f"{path} is missing; make it with {remake}")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"cannot read {path} (truncated or corrupt: {exc}); make it again with {remake}"
                            ) from None
    schema = int(data.pop("schema", 1))
    found = str(data.pop("content", content))
    if schema != SCHEMA:
        convert = f", or convert it: `{UPGRADE} {path}`" if schema == 1 else ""
        raise ArtifactError(f"{path} has result schema {schema} and this version reads schema {SCHEMA}; "
                            f"make it again with {remake}{convert}")
    if found != content:
        raise ArtifactError(f"{path} holds {found}, not {content}")
    return data
