"""Do the randomisation verdicts and the robustness numbers hold beyond the explain stage's few
digits? Runs the stage's trust measures (the classic cascade with its eMPRT reading, and the
three robustness metrics from the stage's 4 copies per digit) on the first 4 of the digits
the faithfulness table measures and on the first N, and writes each method's verdicts,
values with bootstrap intervals, and seconds.

    python experiments/tools/trust_digits.py [--digits 4,100] [--methods gradcam,...] [--no-robustness]
        [--calibration 256] [--model FILE] [--out FILE]

With --calibration N every randomised copy's normalisation statistics are re-estimated on N
test digits (the last N, none of them measured) before it is measured
(`evaluate.sanity.reestimate_batch_norm`).

The digits are the ones `python -m attention_xai explain` measures (`measured_samples`: the
figure's 4 GOOD and 4 BAD, then more by the same rule, half of each kind), so the first 4
are the stage's own sanity digits.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--digits", default="4,100", help="comma-separated digit counts, each the first of the table's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=None, help="comma-separated (default: every registered method)")
    parser.add_argument("--no-robustness", action="store_true", help="the randomisation test only")
    parser.add_argument("--calibration", type=int, default=0, help="re-estimate the copies' normalisation "
                        "statistics on this many test digits (default 0: keep the trained ones, as the stage)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "benchmarks" / "results" /
                        "trust_digits.json")
    args = parser.parse_args(argv)
    counts = sorted({int(n) for n in args.digits.split(",")})

    import warnings

    import numpy as np

    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match", category=UserWarning)
    from attention_xai.artifacts import portable, write_json
    from attention_xai.errors import ConfigError
    from attention_xai.evaluate.sanity import cascade_for_methods
    from attention_xai.explain.analysis import ROBUSTNESS_SAMPLES, robustness
    from attention_xai.explain.base import predict_in_batches
    from attention_xai.explain.samples import measured_samples, pool_samples
    from attention_xai.machine import cpu_description
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import attribution_methods, digit_pool
    from stage_digits import verdicts_of

    model = load_classifier(args.model)
    images, labels = digit_pool()
    probabilities = predict_in_batches(model, images, 512)
    shown = pool_samples(probabilities, labels, good=4, bad=4)
    samples = measured_samples(probabilities, labels, shown, total=max(counts))
    chosen, targets = images[samples.indices], samples.predictions
    methods = attribution_methods(args.methods.split(",") if args.methods else None, seed=args.seed)
    calibration = images[-args.calibration:] if args.calibration else None
    if calibration is not None and np.isin(np.arange(len(images) - args.calibration, len(images)),
                                           samples.indices).any():
        raise SystemExit("the calibration digits overlap the measured ones: use fewer")
    result = {"model": portable(str(args.model), ROOT), "machine": cpu_description(), "seed": args.seed,
              "calibration_digits": args.calibration,
              "robustness_samples": 0 if args.no_robustness else ROBUSTNESS_SAMPLES, "runs": {}}
    for n in counts:
        x, t = chosen[:n], targets[:n]
        run = {"digits": n, "bad_digits": int(np.sum(samples.kind[:n] == "BAD")), "methods": {}}
        for name, method in methods.items():
            started = time.perf_counter()
            maps = method.explain(model, x, t).maps
            try:
                (rows,) = cascade_for_methods(model, {name: method}, x, t, seed=args.seed, maps={name: maps},
                                               calibration=calibration).values()
            except ConfigError as exc:  # the attention map of a model without one
                run["methods"][name] = {"skipped": str(exc)}
                continue
            entry = verdicts_of(rows)
            entry.update(classic=entry["classic"].split(" (")[0], emprt_verdict=entry["emprt_verdict"].split(" (")[0],
                         sanity_seconds=round(time.perf_counter() - started, 1))
            if not args.no_robustness:
                started = time.perf_counter()
                entry.update(robustness(method, model, x, t, maps, samples=ROBUSTNESS_SAMPLES, seed=args.seed),
                             robustness_seconds=round(time.perf_counter() - started, 1))
            run["methods"][name] = entry
            print(f"{n:4d} digits {name:22s} classic {entry['classic']:5s} ({entry['spearman']:.2f})  eMPRT "
                  f"{entry['emprt_verdict']:5s} ({entry['emprt']:.2f})" +
                  (f"  max-sens {entry['max_sensitivity']:.3g} [{entry['max_sensitivity_ci_low']:.3g}, "
                   f"{entry['max_sensitivity_ci_high']:.3g}]" if "max_sensitivity" in entry else "") +
                  f"  {entry['sanity_seconds']} + {entry.get('robustness_seconds', 0)} s", flush=True)
            result["runs"][str(n)] = run
            write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
