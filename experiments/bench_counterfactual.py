"""Benchmark: the counterfactual methods against each other on the same misclassified digits.

On the quick experiment's saved model (saved_models/quick/model.keras; `make run` makes it),
in one process, every BAD test digit (misclassified) towards its true class:

1. `gradient` (batched) versus `seed_loop` (the original study's one-digit-at-a-time
   procedure), both as it stops at the first valid step and running all its 300 steps,
   on the same BAD digits (all of them, at most --bad): seconds per digit, validity, L1
   and L2. Goal: gradient at least 20x faster per digit, validity at least as high.
2. Every method versus Alibi's `alibi_proto` on the first --reference BAD digits: seconds
   and model queries per digit, validity, mean L1, L2 and IM1 over the valid ones, and each
   method's speed-up over alibi_proto. Goal: our best method at least 50x faster than
   alibi_proto, with validity at least as high and L1 and IM1 no worse.

Alibi runs with the explicit budgets of its adapters (see `--set`-able defaults in
attention_xai/explain/counterfactual/alibi.py); at Alibi's own defaults one digit takes
tens of minutes on a 2-core CPU.

    python experiments/bench_counterfactual.py [--bad 64] [--reference 20] [--skip METHOD,...] [--out FILE]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _row(result, originals, autoencoders):
    from attention_xai.evaluate.counterfactual import distances, im1
    from attention_xai.models.autoencoder import reconstruct

    d = distances(result.digits, result.counterfactuals)
    per_class = [lambda x, ae=ae: reconstruct(ae, x) for ae in autoencoders.per_class]
    plausibility = im1(per_class, result.counterfactuals, result.targets, originals)
    valid = result.valid

    def mean(values):
        return round(float(np.mean(values[valid])), 4) if valid.any() else None

    return {"method": result.method, "digits": int(len(valid)), "validity": round(float(valid.mean()), 4),
            "seconds_per_digit": round(float(result.seconds.mean()), 4),
            "queries_per_digit": round(float(result.queries.mean()), 1),
            "forward_per_digit": round(float(result.forward_queries.mean()), 1),
            "gradient_per_digit": round(float(result.gradient_queries.mean()), 1),
            "l1": mean(d["l1"]), "l2": mean(d["l2"]), "l0": mean(d["l0"]), "im1": mean(plausibility)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--bad", type=int, default=64, help="BAD digits for gradient vs seed_loop (at most)")
    parser.add_argument("--reference", type=int, default=20, help="BAD digits for the comparison with alibi_proto")
    parser.add_argument("--skip", default="", help="comma-separated methods to leave out of part 2")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "results" / "bench_counterfactual.json")
    args = parser.parse_args(argv)

    import attention_xai  # noqa: F401
    from attention_xai.artifacts import write_json
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.explain.base import predict_in_batches
    from attention_xai.explain.counterfactual import COUNTERFACTUALS
    from attention_xai.models import load_classifier
    from attention_xai.models.autoencoder import load_autoencoders

    model = load_classifier(args.model)
    autoencoders = load_autoencoders(ROOT / "saved_models" / "autoencoders")
    data = load_mnist()
    x = to_model_input(data.x_test)
    predictions = predict_in_batches(model, x, 512).argmax(axis=1)
    bad = np.flatnonzero(predictions != data.y_test)
    print(f"{len(bad)} BAD test digits (misclassified) of {len(x)}")
    rows = bad[:args.bad]
    digits, targets, originals = x[rows], data.y_test[rows].astype(np.int64), predictions[rows]
    report = {"model": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model),
              "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPU cores, TensorFlow backend",
              "bad_digits_available": int(len(bad))}

    started = time.perf_counter()
    part1 = []
    for name, params, label in (("gradient", {}, "gradient"),
                                ("seed_loop", {}, "seed_loop (stops at the first valid step)"),
                                ("seed_loop", {"stop_when_valid": False}, "seed_loop (all 300 steps)")):
        part1.append({"variant": label, **_row(COUNTERFACTUALS.get(name)(**params).generate(model, digits, targets),
                                              originals, autoencoders)})
    for row in part1[1:]:
        row["gradient_speedup"] = round(row["seconds_per_digit"] / part1[0]["seconds_per_digit"], 1)
    report["gradient_vs_seed_loop"] = {"digits": int(len(rows)), "rows": part1}
    print(f"part 1 ({time.perf_counter() - started:.0f} s) on {len(rows)} BAD digits:")
    for row in part1:
        print(f"  {row['variant']}: {row['seconds_per_digit']:.4f} s/digit, validity {row['validity']}, "
              f"L2 {row['l2']}, gradient is {row.get('gradient_speedup', 1.0)}x faster")

    n = min(args.reference, len(bad))
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    part2 = []
    cfrl = args.model.parent / "cfrl"
    if not (cfrl / "cfrl.json").is_file():
        print(f"  alibi_cfrl: left out, no trained policy in {cfrl} (python -m attention_xai cfrl quick)")
        skip.add("alibi_cfrl")
    for name in COUNTERFACTUALS.names():
        if name in skip:
            continue
        started = time.perf_counter()
        params = {"directory": str(cfrl)} if name == "alibi_cfrl" else {}
        result = COUNTERFACTUALS.get(name)(**params).generate(model, digits[:n], targets[:n])
        part2.append(_row(result, originals[:n], autoencoders))
        print(f"  {name}: {time.perf_counter() - started:.0f} s, validity {part2[-1]['validity']}")
    reference = next((r for r in part2 if r["method"] == "alibi_proto"), None)
    for r in part2:
        r["speedup_vs_alibi_proto"] = (round(reference["seconds_per_digit"] / r["seconds_per_digit"], 1)
                                       if reference else None)
    report["methods_vs_alibi_proto"] = {"digits": int(n), "rows": part2}
    write_json(args.out, report)

    print("\n| method | validity | s/digit | queries/digit | L1 | L2 | IM1 | speed-up vs alibi_proto |")
    print("|---|---|---|---|---|---|---|---|")
    for r in part2:
        print(f"| {r['method']} | {r['validity']:.2f} | {r['seconds_per_digit']:.3f} | {r['queries_per_digit']:,.0f} "
              f"| {r['l1']} | {r['l2']} | {r['im1']} | {r['speedup_vs_alibi_proto']} |")
    print(f"\nwritten: {args.out}")
    return report


if __name__ == "__main__":
    main()
