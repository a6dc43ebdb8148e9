"""Converts result files of schema 1 (written up to 2026-12-02) to today's schema, in place.

Schema 1 had no `schema` key; its counterfactual costs were called `forward_queries` and
`gradient_queries` (arrays and table columns), and the explain stage's file did not record
the methods it skipped. Nothing is computed again: the numbers are the same, only the names
and the two schema keys change. Files already at today's schema are left alone.

    python experiments/tools/upgrade_results.py saved_models            # every result file below
    python experiments/tools/upgrade_results.py saved_models/quick/counterfactuals/counterfactuals.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from attention_xai.explain.results_file import SCHEMA, save_arrays

CONTENT = {"maps.npz": "attributions", "counterfactuals.npz": "counterfactual_analysis"}
RENAMED = {"forward_queries": "forward_passes", "gradient_queries": "gradient_passes",
           "forward_queries_per_digit": "forward_passes_per_digit",
           "gradient_queries_per_digit": "gradient_passes_per_digit"}


def _renamed(key: str) -> str:
    for old, new in RENAMED.items():
        if key == old or key.startswith(old + "_") and not key.startswith(old + "_per_digit"):
            return new + key[len(old):]
    return key


def upgrade(path: Path) -> str:
    """Rewrites one schema-1 file; returns what happened ("upgraded", "current")."""
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    schema = int(data.pop("schema", 1))
    if schema == SCHEMA:
        return "current"
    if schema != 1:
        raise SystemExit(f"{path}: schema {schema} is not one this tool converts")
    content = CONTENT[path.name]
    if content == "attributions":
        data.setdefault("skipped", np.array("{}"))
        data.setdefault("selection", np.array("{}"))
    else:
        data = {_renamed(key): value for key, value in data.items()}
        tables = json.loads(str(data.get("tables", "{}")))
        tables = {name: [{RENAMED.get(k, k): v for k, v in row.items()} for row in rows]
                  for name, rows in tables.items()}
        data["tables"] = np.array(json.dumps(tables))
    save_arrays(path, content, data)
    return "upgraded"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="result files, or folders to search")
    args = parser.parse_args(argv)
    files = []
    for path in args.paths:
        files += [p for name in CONTENT for p in sorted(path.rglob(name))] if path.is_dir() else [path]
    for path in files:
        if path.name not in CONTENT:
            print(f"{path}: not a result file ({', '.join(CONTENT)})", file=sys.stderr)
            return 2
        print(f"{path}: {upgrade(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
