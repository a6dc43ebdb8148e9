"""Does re-estimating the normalisation statistics keep a randomised copy alive? For each
step of the sanity check's cascade (layers redrawn from the output down), how much the
copy's answer still depends on its input (output spread; below 1e-3 the check calls the copy
dead) and how certain it is, with the trained statistics and with statistics re-estimated
on calibration digits (`evaluate.sanity.reestimate_batch_norm`).

    python experiments/tools/bn_reestimation.py [--model FILE] [--calibration 256] [--methods gradcam,...]
        [--out FILE]

With --methods, the sanity check's verdicts of those methods as well, on the same digits,
once with the trained statistics and once with re-estimated ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--calibration", type=int, default=256, help="test digits the statistics are estimated on")
    parser.add_argument("--digits", type=int, default=4, help="the first of the explain stage's digits, measured")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=None, help="comma-separated attribution methods whose verdicts to "
                        "compare (default: none, the copies' output only)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "benchmarks" / "results" /
                        "bn_reestimation.json")
    args = parser.parse_args(argv)

    import numpy as np

    from attention_xai.artifacts import portable, write_json
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.evaluate.sanity import (DEAD_BELOW, output_change, output_spread, randomised_copies,
                                               reestimate_batch_norm)
    from attention_xai.machine import cpu_description
    from attention_xai.models import load_classifier
    from stage_digits import stage_digits

    model = load_classifier(args.model)
    images, targets = (a[: args.digits] for a in stage_digits(model))
    calibration = to_model_input(load_mnist().x_test[-args.calibration:])  # not among the measured digits
    before = model.predict(images, verbose=0)
    rows = []
    for copy, stop, total, last in randomised_copies(model, args.seed, (0.0, 0.5, 1.0), bottom_up=False):
        trained = [np.array(w) for w in copy.non_trainable_weights]
        row = {"randomized": f"top {stop} of {total}", "layers": last}
        for label in ("trained_statistics", "reestimated"):
            if label == "reestimated":
                row.update(reestimate_batch_norm(copy, calibration))
            row[label] = {"output_spread": output_spread(copy, images),
                          **output_change(before, copy.predict(images, verbose=0))}
        for weight, value in zip(copy.non_trainable_weights, trained):  # the cascade goes on from the trained ones
            weight.assign(value)
        rows.append(row)
        print(f"{row['randomized']:14s} spread {row['trained_statistics']['output_spread']:.4f} -> "
              f"{row['reestimated']['output_spread']:.4f} (dead below {DEAD_BELOW:g}); output entropy "
              f"{row['trained_statistics']['output_entropy']:.3f} -> {row['reestimated']['output_entropy']:.3f}",
              flush=True)
    result = {"model": portable(str(args.model), ROOT), "machine": cpu_description(),
              "calibration_digits": args.calibration, "digits": len(images), "seed": args.seed, "rows": rows}
    write_json(args.out, result)
    if args.methods:
        result["verdicts"] = verdicts(model, args.methods.split(","), images, targets, calibration, args.seed)
        write_json(args.out, result)
    return 0


def verdicts(model, names, images, targets, calibration, seed) -> dict:
    """method -> {statistics: its classic and eMPRT verdicts with every layer random}, for the
    trained statistics and re-estimated ones, and the seconds each cascade took."""
    import time

    from attention_xai.evaluate.sanity import cascade_for_methods
    from attention_xai.pipeline import attribution_methods
    from stage_digits import verdicts_of

    methods = attribution_methods(names, seed=seed)
    found: dict = {name: {} for name in methods}
    for label, digits in (("trained_statistics", None), ("reestimated", calibration)):
        started = time.perf_counter()
        cascades = cascade_for_methods(model, methods, images, targets, seed=seed, calibration=digits)
        for name, rows in cascades.items():
            found[name][label] = verdicts_of(rows)
            print(f"{label:18s} {name:22s} classic {found[name][label]['classic'].split(' (')[0]:12s} "
                  f"({rows[-1]['spearman']:.2f})  eMPRT {found[name][label]['emprt_verdict'].split(' (')[0]:12s} "
                  f"({rows[-1]['emprt']:.2f})", flush=True)
        found[f"seconds_{label}"] = round(time.perf_counter() - started, 1)
    return found


if __name__ == "__main__":
    raise SystemExit(main())
