"""Benchmark: the sanity check (cascading randomisation) with its randomised copies shared by
all methods (`cascade_for_methods`, what the explain stage runs) against one cascade per
method (`cascading_randomization` method by method: a copy and its output spread per method,
as before), on the same model and digits, alternating over --rounds in one process. Checks
that both give the same rows.

    python experiments/benchmarks/bench_sanity.py [--name quick] [--digits 4] [--rounds 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="quick", help="artifact name under saved_models/")
    parser.add_argument("--digits", type=int, default=4, help="test digits checked (the explain stage uses 4)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_sanity.json")
    args = parser.parse_args(argv)

    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.evaluate.sanity import cascade_for_methods, cascading_randomization
    from attention_xai.explain.analysis import build_methods
    from attention_xai.explain.base import predict_in_batches
    from attention_xai.machine import cpu_description
    from attention_xai.models import load_classifier

    model = load_classifier(ROOT / "saved_models" / args.name / "model.keras")
    digits = to_model_input(load_mnist().x_test[:args.digits])
    targets = predict_in_batches(model, digits, 64).argmax(axis=1)
    methods = build_methods(None)
    runs = {"shared": lambda: cascade_for_methods(model, methods, digits, targets),
            "per method": lambda: {n: cascading_randomization(model, m, digits, targets) for n, m in methods.items()}}
    seconds, rows = {variant: [] for variant in runs}, {}
    for _ in range(args.rounds):
        for variant, run in runs.items():
            started = time.perf_counter()
            rows[variant] = run()
            seconds[variant].append(time.perf_counter() - started)
    same = rows["shared"] == rows["per method"]
    best = {variant: round(min(values), 2) for variant, values in seconds.items()}
    result = {"experiment": args.name, "digits": args.digits, "methods": list(methods), "rounds": args.rounds,
              "machine": cpu_description(), "seconds": best,
              "ratio_shared_to_per_method": round(best["shared"] / best["per method"], 3), "same_rows": same}
    print(f"shared {best['shared']:.2f} s, per method {best['per method']:.2f} s "
          f"(ratio {result['ratio_shared_to_per_method']:.2f}); same rows: {same}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
