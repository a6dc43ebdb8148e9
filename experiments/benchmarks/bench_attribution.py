"""Benchmark: batching of the attribution methods, and their time against their inherent cost.

On the quick experiment's saved model (saved_models/quick/model.keras; `make run` makes it)
and 64 test digits, in one process:

1. Batched versus one-digit-at-a-time: each method explains the 64 digits in one call
   (batch_size 64) and in 64 calls of one digit; the speed-up per digit is reported
   (goal: at least 5x for the gradient methods).
2. Time against inherent cost: the cost of one forward pass and of one forward+backward
   pass per digit is measured on batches of 64; a method's inherent cost is its
   forward passes x the first plus its gradient passes x the second (the passes it
   reports). Its measured time per digit over that is the overhead ratio (goal: within 1.5x).

    python experiments/benchmarks/bench_attribution.py [--digits 64] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GRADIENT_METHODS = ("gradcam", "smoothgrad", "integrated_gradients")


def _seconds(fn, repeats: int = 3) -> float:
    """Best of `repeats` wall times of fn() (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def pass_costs(model, images: np.ndarray) -> dict:
    """Seconds per digit of a batched forward pass and of a batched forward+backward pass."""
    from attention_xai.explain.base import target_gradients
    from attention_xai.explain.base import predict_in_batches

    targets = np.zeros(len(images), np.int64)
    forward = _seconds(lambda: predict_in_batches(model, images, len(images))) / len(images)
    gradient = _seconds(lambda: target_gradients(model, images, targets)) / len(images)
    return {"forward_s_per_digit": forward, "gradient_s_per_digit": gradient}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits", type=int, default=64)
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--methods", default=None, help="comma-separated (default: all that apply)")
    parser.add_argument("--out", type=Path, help="also write the JSON summary here")
    args = parser.parse_args(argv)

    import keras

    from attention_xai.artifacts import portable
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.base import predict_in_batches
    from attention_xai.models import load_classifier

    model = load_classifier(args.model)
    images = to_model_input(load_mnist().x_test[: args.digits])
    targets = predict_in_batches(model, images, 64).argmax(axis=1)
    costs = pass_costs(model, images)
    names = args.methods.split(",") if args.methods else ATTRIBUTIONS.names()
    rows = []
    for name in names:
        # 64 images per call, or the method's own larger default (RISE: 500 masked copies)
        method = ATTRIBUTIONS.get(name)(batch_size=max(64, ATTRIBUTIONS.get(name).default_batch_size))
        method.explain(model, images[:2], targets[:2])  # warm-up: tracing, cloning, imports
        batched = method.explain(model, images, targets)
        started = time.perf_counter()
        for i in range(len(images)):
            method.explain(model, images[i:i + 1], targets[i:i + 1])
        single_per_digit = (time.perf_counter() - started) / len(images)
        per_digit = batched.seconds / len(images)
        inherent = (batched.forward_passes * costs["forward_s_per_digit"]
                    + batched.gradient_passes * costs["gradient_s_per_digit"]) / len(images)
        rows.append({
            "method": name,
            "batched_ms_per_digit": round(per_digit * 1e3, 3),
            "one_at_a_time_ms_per_digit": round(single_per_digit * 1e3, 3),
            "batching_speedup": round(single_per_digit / per_digit, 2),
            "forward_passes_per_digit": batched.forward_passes / len(images),
            "gradient_passes_per_digit": batched.gradient_passes / len(images),
            "inherent_ms_per_digit": round(inherent * 1e3, 3),
            "time_over_inherent": round(per_digit / inherent, 2) if inherent > 0 else None,
        })
        print(json.dumps(rows[-1]), flush=True)
    from attention_xai.machine import cpu_description

    result = {"model": portable(str(args.model.resolve()), ROOT), "digits": len(images),
              "machine": cpu_description(), "keras": keras.__version__, "backend": keras.backend.backend(),
              "pass_costs_ms_per_digit": {k.replace("_s_", "_ms_"): round(v * 1e3, 4) for k, v in costs.items()},
              "gradient_methods": list(GRADIENT_METHODS), "methods": rows}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
