"""Benchmark: what `run` saves by handing the explain stage's maps to the counterfactual stage.

The counterfactual stage compares where each counterfactual changes pixels with where every
attribution method points (the overlap columns), so it needs all eight methods' maps of the
same digits. `run` explains those digits first and hands its analysis over; the stage on its
own computes the maps again. This runs the counterfactual stage of a saved model twice on the
same digits, in one process, alternating over --rounds: once given the explain stage's
analysis, once without; the searches and measurements are the same in both, so the
difference is the maps computed again. Nothing is written into saved_models/ or reports/.

    python experiments/benchmarks/bench_run_reuse.py [--model saved_models/quick/model.keras] \
        [--methods revise,growing_spheres] [--rounds 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--methods", default="revise,growing_spheres",
                        help="counterfactual methods (the searches are the same in both variants)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_run_reuse.json")
    args = parser.parse_args(argv)

    from attention_xai.artifacts import portable, write_json
    from attention_xai.data import load_mnist
    from attention_xai.explain.counterfactual.needs import Resources
    from attention_xai.machine import cpu_description, cpu_line
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import Selection, counterfactual_methods, counterfactuals, digit_pool, explain

    model, data = load_classifier(args.model), load_mnist()
    images, labels = digit_pool(data)
    selection = Selection()  # run's default: 4 GOOD + 4 BAD digits
    resources = Resources(model_dir=args.model.parent)
    methods = counterfactual_methods(args.methods.split(","), resources=resources)
    started = time.perf_counter()
    explained = explain(model, images, labels, selection=selection)  # every method, as run does
    explain_seconds = time.perf_counter() - started
    seconds = {"reused": [], "computed again": []}
    for _ in range(args.rounds):
        for variant, handed in (("reused", explained), ("computed again", None)):
            started = time.perf_counter()
            counterfactuals(model, images, labels, methods=methods, selection=selection, resources=resources,
                            data=data, explained=handed)
            seconds[variant].append(time.perf_counter() - started)
    best = {variant: min(values) for variant, values in seconds.items()}
    result = {"model": portable(str(args.model), ROOT), "machine": cpu_description(), "methods": args.methods,
              "digits": len(explained.images), "rounds": args.rounds,
              "explain_stage_seconds": round(explain_seconds, 2),
              "counterfactual_stage_seconds": {k: [round(v, 2) for v in vs] for k, vs in seconds.items()},
              "saved_seconds": round(best["computed again"] - best["reused"], 2),
              "ratio": round(best["computed again"] / best["reused"], 2)}
    write_json(args.out, result)
    print(f"{cpu_line()}\ncounterfactual stage ({args.methods}, {result['digits']} digits), best of {args.rounds}: "
          f"{best['reused']:.1f} s with the explain stage's maps, {best['computed again']:.1f} s computing them "
          f"again: {result['saved_seconds']:.1f} s saved ({result['ratio']:.2f}x) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
