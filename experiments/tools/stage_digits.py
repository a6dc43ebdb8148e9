"""What the trust tools share: the explain stage's own digits of a model, and the methods an
earlier run of the same settings already measured."""

from __future__ import annotations

import json
from pathlib import Path


def stage_digits(model, *, good: int = 4, bad: int = 4):
    """The digits `python -m attention_xai explain` picks by default (GOOD, then BAD, most
    confident first) from the official test set: (images, the model's predicted classes)."""
    from attention_xai.explain.base import predict_in_batches
    from attention_xai.explain.samples import pool_samples
    from attention_xai.pipeline import digit_pool

    images, labels = digit_pool()
    samples = pool_samples(predict_in_batches(model, images, 512), labels, good=good, bad=bad)
    return images[samples.indices], samples.predictions


def verdicts_of(rows: list[dict]) -> dict:
    """A method's cascade read off its fully randomised row: the classic and eMPRT verdicts
    (in full), the Spearman correlation, the eMPRT rise and the copy's output spread."""
    from attention_xai.evaluate.sanity import emprt_verdict, sanity_verdict

    last = rows[-1]
    return {"classic": sanity_verdict(rows), "spearman": last["spearman"], "emprt_verdict": emprt_verdict(rows),
            "emprt": last["emprt"], "output_spread": last["output_spread"]}


def earlier_methods(out: Path, result: dict, settings, methods) -> dict:
    """The per-method results of `out` when it was written with the same `settings` keys of
    `result`, less those about to be measured again: a run of some methods keeps the others."""
    if not Path(out).is_file():
        return {}
    earlier = json.loads(Path(out).read_text())
    if any(earlier.get(k) != result[k] for k in settings):
        return {}
    return {k: v for k, v in earlier["methods"].items() if k not in methods}
