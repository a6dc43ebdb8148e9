"""sMPRT (Hedström et al. 2023) on the quick model: every attribution method's maps averaged
over noisy copies of the explain stage's first digits, compared between the model and its
copy with the layers re-initialised from the input up (half of them, then all).

    python experiments/tools/smprt.py [--digits 4] [--samples 50] [--methods gradcam,...] [--out FILE]
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
    parser.add_argument("--samples", type=int, default=50, help="noisy copies per digit (Quantus: 50)")
    parser.add_argument("--noise", type=float, default=0.1, help="noise sigma, share of the value range (Quantus: 0.1)")
    parser.add_argument("--methods", default=None, help="comma-separated (default: every registered method)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "benchmarks" / "results" / "smprt.json")
    args = parser.parse_args(argv)

    import warnings

    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match", category=UserWarning)
    from attention_xai.artifacts import portable, write_json
    from attention_xai.evaluate.sanity import smoothed_randomization
    from attention_xai.machine import cpu_description
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import attribution_methods
    from stage_digits import earlier_methods, stage_digits

    model = load_classifier(args.model)
    chosen, targets = (a[: args.digits] for a in stage_digits(model))
    methods = attribution_methods(args.methods.split(",") if args.methods else None)
    result = {"model": portable(str(args.model), ROOT), "machine": cpu_description(), "digits": len(chosen),
              "samples": args.samples, "noise": args.noise, "methods": {}}
    result["methods"] = earlier_methods(args.out, result, ("model", "machine", "digits", "samples", "noise"), methods)
    for name, method in methods.items():
        started = time.perf_counter()
        try:
            rows = smoothed_randomization(model, {name: method}, chosen, targets,
                                          samples=args.samples, noise=args.noise)[name]
        except Exception as exc:  # a method that cannot apply to this model (none expected on quick)
            print(f"{name}: {exc}")
            continue
        result["methods"][name] = {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}
        last = rows[-1]
        print(f"{name:22s} Spearman {last['spearman']:+.3f} ({last['randomized']})  {last['verdict']}  "
              f"{result['methods'][name]['seconds']} s", flush=True)
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
