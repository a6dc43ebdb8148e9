"""Benchmark: what the input path costs in training, and peak memory at 224x224.

For MobileNetV2 at 224x224 and for the quick model, trains the same network twice in one
process: once through the real path (uint8 digits -> batches -> augmentation, resize,
RGB, normalisation inside the model) and once fed ready-made tensors of the final size
(the network without its input path). Reports images per second of both and their ratio.

Then, in a child process, trains MobileNetV2 at 224x224 from the full 60,000-digit training
set for a few hundred steps and reports the peak resident memory, sampled along the way,
so that growth with steps (or with the dataset) would show.

    python experiments/bench_training.py [--steps 12] [--rounds 3] [--memory-steps 200] [--out FILE]

Prints a JSON summary (and writes it to --out if given).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _images_per_second(model, batches, steps: int, warmup: int = 3) -> float:
    model.fit(batches, steps_per_epoch=warmup, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batches.batch_size / (time.perf_counter() - started)


def input_path_ratio(experiment: str, steps: int, rounds: int = 3) -> dict:
    """Best images/s (of `rounds` alternating rounds) of the real path and of ready-made
    tensors. Alternating rounds expose both to the same drifts of the machine; the best
    round is the one least disturbed by anything else running (all rounds are reported)."""
    from attention_xai.data import DigitBatches, load_mnist
    from attention_xai.experiment import load_experiment
    from attention_xai.models import build_classifier, build_prepared_classifier

    config = load_experiment(experiment)
    batch = config.training.batch_size
    data = load_mnist()
    keras.utils.set_random_seed(0)
    size = config.model.image_size
    ready = np.random.default_rng(0).normal(size=(batch, size, size, 3)).astype("float32")
    runs = {
        "real": (build_classifier(config.model), DigitBatches(data.x_train, data.y_train, batch, shuffle=True)),
        "ready": (build_prepared_classifier(config.model), RepeatedBatch(ready, data.y_train[:batch])),
    }
    for model, _ in runs.values():
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    speeds = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (model, batches) in runs.items():
            speeds[name].append(_images_per_second(model, batches, steps))
    real, prepared = max(speeds["real"]), max(speeds["ready"])
    return {"experiment": experiment, "backbone": config.model.backbone, "image_size": size, "batch_size": batch,
            "steps": steps, "rounds": rounds, "real_path_img_per_s": round(real, 1),
            "ready_tensors_img_per_s": round(prepared, 1), "ratio": round(real / prepared, 3),
            "all_rounds": {name: [round(v, 1) for v in values] for name, values in speeds.items()}}


class RepeatedBatch(keras.utils.PyDataset):
    """Hands out the same ready-made batch every step: an input path that costs nothing."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, len(x)

    def __len__(self):
        return 10**6

    def __getitem__(self, index):
        return self.x, self.y


def peak_memory_child(steps: int) -> None:
    """Runs in a child process: trains MobileNetV2@224 from all 60,000 digits for `steps` steps."""
    from attention_xai.data import DigitBatches, load_mnist
    from attention_xai.experiment import load_experiment
    from attention_xai.models import build_classifier

    def peak_rss_mb() -> float:
        """VmHWM: the peak resident set of this process image (ru_maxrss would also count
        the parent's pages from before exec)."""
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024

    config = load_experiment("seed_mobilenetv2_cbam_scratch")
    data = load_mnist()
    batches = DigitBatches(data.x_train, data.y_train, config.training.batch_size, shuffle=True)
    model = build_classifier(config.model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    samples = []

    class Sample(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (batch + 1) % max(steps // 4, 1) == 0:
                samples.append({"step": batch + 1, "peak_rss_mb": round(peak_rss_mb(), 1)})

    before = peak_rss_mb()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[Sample()])
    print(json.dumps({"dataset_digits": len(data.x_train), "batch_size": config.training.batch_size,
                      "image_size": config.model.image_size, "steps": steps,
                      "peak_rss_mb_before_training": round(before, 1), "samples": samples,
                      "peak_rss_mb": round(peak_rss_mb(), 1)}))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="timed training steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per model (best one counts)")
    parser.add_argument("--memory-steps", type=int, default=200, help="steps of the peak-memory run (0: skip)")
    parser.add_argument("--out", type=Path, help="also write the JSON summary here")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        peak_memory_child(args.memory_child)
        return {}
    import os
    import platform

    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "keras": keras.__version__, "backend": keras.backend.backend(),
              "input_path": [input_path_ratio("seed_mobilenetv2_cbam_scratch", args.steps, args.rounds),
                             input_path_ratio("quick", args.steps * 10, args.rounds)]}
    if args.memory_steps:
        child = subprocess.run([sys.executable, __file__, "--memory-child", str(args.memory_steps)],
                               capture_output=True, text=True, cwd=ROOT)
        if child.returncode != 0:
            raise SystemExit(f"memory run failed: {child.stderr.strip().splitlines()[-1]}")
        result["peak_memory_224"] = json.loads(child.stdout.strip().splitlines()[-1])
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
