"""What every report shares: figures and tables written atomically, and artifacts read
back with a one-line `ArtifactError` naming the file when it is missing, truncated or of
another format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterable

from matplotlib.figure import Figure

from attention_xai.artifacts import atomic_path, write_text
from attention_xai.errors import ArtifactError


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """PNG and PDF of a figure, each written atomically. A layout engine (constrained
    layout) runs once, for both files: the figure is laid out, then frozen."""
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    written = []
    for suffix in (".png", ".pdf"):
        target = stem.with_suffix(suffix)
        with atomic_path(target) as tmp:
            # No creation date in the PDF: the same artifacts redraw to the same bytes.
            fig.savefig(tmp, format=suffix[1:], dpi=130, metadata={"CreationDate": None} if suffix == ".pdf" else None)
        written.append(target)
    return written


def write_csv(path: Path, rows: list[dict]) -> None:
    out = io.StringIO()
    fields = list(dict.fromkeys(key for row in rows for key in row))  # every row's keys, first-seen order
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, out.getvalue())


def read_csv(path: Path, required: Iterable[str] = ()) -> list[dict]:
    """Rows of a CSV file; ArtifactError if it cannot be read or lacks a `required` column."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows, columns = list(reader), reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise ArtifactError(f"{path} lacks the column(s) {', '.join(missing)}; it is partial or of an older format")
    return rows


def read_json(path: Path, required: Iterable[str] = (), remedy: str = "") -> dict:
    """A JSON object; ArtifactError if it cannot be read or lacks a `required` key."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}{remedy}") from None
    missing = [k for k in required if not isinstance(data, dict) or k not in data]
    if missing:
        raise ArtifactError(f"{path} is of an older format (no {', '.join(missing)}){remedy}")
    return data
