"""Robustness of every attribution method on the quick model with more perturbed copies than
the explain stage draws: Max-Sensitivity, the Local Lipschitz Estimate and average stability
(`attention_xai.evaluate.robustness.robustness_scores`, maps divided by their maximum) on the
explain stage's first digits, beside the stage's own 4-copy numbers for the same digits.

    python experiments/tools/robustness.py [--digits 4] [--samples 50] [--methods gradcam,...] [--out FILE]

Quantus draws 200 copies; at 50 a digit RISE alone makes 600 explanations per digit.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--digits", type=int, default=4, help="the first of the explain stage's digits (4 GOOD, 4 BAD)")
    parser.add_argument("--samples", type=int, default=50, help="perturbed copies per digit and metric (Quantus: 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=None, help="comma-separated (default: every registered method)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "benchmarks" / "results" / "robustness.json")
    args = parser.parse_args(argv)

    import warnings

    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match", category=UserWarning)
    from attention_xai.artifacts import portable, write_json
    from attention_xai.evaluate.robustness import robustness_scores
    from attention_xai.machine import cpu_description
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import attribution_methods
    from stage_digits import earlier_methods, stage_digits

    model = load_classifier(args.model)
    chosen, targets = (a[: args.digits] for a in stage_digits(model))
    methods = attribution_methods(args.methods.split(",") if args.methods else None, seed=args.seed)
    result = {"model": portable(str(args.model), ROOT), "machine": cpu_description(), "digits": len(chosen),
              "samples": args.samples, "seed": args.seed, "methods": {}}
    result["methods"] = earlier_methods(args.out, result, ("model", "machine", "digits", "samples", "seed"), methods)
    for name, method in methods.items():
        started = time.perf_counter()

        def explain(x, t, method=method):
            return method.explain(model, x, t).maps

        scores = {k: robustness_scores(explain, chosen, targets, explain(chosen, targets), samples=n,
                                       seed=args.seed) for k, n in (("stage", 4), ("here", args.samples))}
        result["methods"][name] = {**scores, "seconds": round(time.perf_counter() - started, 1)}
        print(f"{name:22s} " + "  ".join(f"{k} {scores['here'][k]:.4g} (4 copies: {scores['stage'][k]:.4g})"
                                         for k in scores["here"]) + f"  {result['methods'][name]['seconds']} s",
              flush=True)
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
