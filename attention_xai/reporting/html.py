"""The report's index.html: a plain page that shows an experiment's figures and tables."""

from __future__ import annotations

import html
import math
from typing import Sequence


def number(value: float, digits: int = 3, trim: bool = False) -> str:
    """`value` to `digits` significant digits, written as people write numbers: no
    exponent, thousands separated (2,090; 0.0123; 99.4); `trim` drops trailing zeros."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = digits - 1 - magnitude
    rounded = round(value, decimals)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > magnitude:  # 9.996 -> 10.0: one digit fewer
        decimals -= 1
    text = f"{rounded:,.{max(decimals, 0)}f}"
    return text.rstrip("0").rstrip(".") if trim and "." in text else text


def duration(seconds: float, digits: int = 3) -> str:
    """A time span in the unit people read it in: ms, s, min or h."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    for limit, unit, scale in ((1.0, "ms", 1e-3), (120.0, "s", 1.0), (7200.0, "min", 60.0)):
        if abs(seconds) < limit:
            return f"{number(seconds / scale, digits)} {unit}"
    return f"{number(seconds / 3600.0, digits)} h"


def render_index(title: str, summary: Sequence[tuple[str, str]], sections: Sequence[dict]) -> str:
    """A self-contained HTML page.

    Args:
        title: page heading.
        summary: (label, value) rows of the headline table.
        sections: dicts with "title", and any of "figure" (PNG path relative to the page,
            with a PDF of the same stem beside it), "table" (CSV path and list of rows),
            "text", "links" ((href, label) pairs).
    """
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1240px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "td{white-space:nowrap}th{background:#f3f3f3;position:sticky;top:0}img{max-width:100%}"
             ".scroll{overflow:auto;max-width:100%;max-height:80vh}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", _table(["", ""], summary, header=False)]
    for section in sections:
        parts.append(f"<h2>{html.escape(section['title'])}</h2>")
        if section.get("text"):
            parts.append(f"<p>{html.escape(section['text'])}</p>")
        if section.get("figure"):
            png = section["figure"]
            pdf = png.rsplit(".", 1)[0] + ".pdf"
            parts.append(f"<p><img src='{html.escape(png)}' alt='{html.escape(section['title'])}'><br>"
                         f"<a href='{html.escape(png)}'>PNG</a> · <a href='{html.escape(pdf)}'>PDF</a></p>")
        if section.get("table"):
            csv_path, rows = section["table"]
            if rows:
                columns = list(dict.fromkeys(key for row in rows for key in row))  # rows may differ in columns
                # a wide or long table scrolls inside its own box, not the page
                parts.append("<div class='scroll'>" + _table(columns, [[r.get(c, "") for c in columns] for r in rows])
                             + "</div>")
            parts.append(f"<p><a href='{html.escape(csv_path)}'>CSV</a></p>")
        if section.get("links"):
            parts.append("<ul>" + "".join(f"<li><a href='{html.escape(href)}'>{html.escape(label)}</a></li>"
                                          for href, label in section["links"]) + "</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _table(columns: Sequence[str], rows, header: bool = True) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in columns) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _fmt(value) -> str:
    if isinstance(value, str) and "." in value:  # numbers read back from CSV
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float):
        return number(value, 4, trim=True)
    return str(value)
