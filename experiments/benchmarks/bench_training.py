"""Benchmark: what the input path costs in training, and peak memory at 224x224.

For MobileNetV2 at 224x224 and for the quick model, trains the same network twice in one
process: once through the real path (uint8 digits -> batches -> augmentation, resize,
RGB, normalisation inside the model) and once fed ready-made tensors of the final size
(the network without its input path). Reports images per second of both and their ratio.

Then, in a child process, trains MobileNetV2 at 224x224 from the full 60,000-digit training
set for a few hundred steps and reports the peak resident memory, sampled along the way,
so that growth with steps (or with the dataset) would show.

Before both, it trains the quick model in child processes with and without TensorFlow's
BFC CPU allocator (TF_CPU_ALLOCATOR_USE_BFC, which attention_xai turns on by default) and
reports images/s, the kernel's share of CPU time and minor page faults of each.

Across attention modules (`--only-modules`): the ablation's five models (the quick backbone
with none, SE, CBAM, PAM, GC) in one process, alternating rounds: parameters, training
images per second through the real input path, and inference milliseconds per digit; the
cost column of the ablation table.

Across backends (`--only-backends`): the quick model through the real input path for the
same steps in child processes on TensorFlow (this environment) and on JAX (`.venv-jax`,
see requirements-jax.txt), alternating, and the ratio of their images per second.

    python experiments/benchmarks/bench_training.py [--steps 12] [--rounds 3] [--memory-steps 200]
        [--allocator-steps 60] [--only-allocator] [--only-backends] [--backend-steps 60] [--out FILE]

Prints a JSON summary (and writes it to --out if given).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _training_setup(experiment: str, data=None, seed: int | None = None):
    """The experiment's model, compiled as training compiles it, and shuffled batches of
    the real input path (uint8 digits in, augmentation and resizing inside the model)."""
    from attention_xai.data import DigitBatches, load_mnist
    from attention_xai.experiment import load_experiment
    from attention_xai.models import build_classifier

    config = load_experiment(experiment)
    data = data if data is not None else load_mnist()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = build_classifier(config.model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return config, model, DigitBatches(data.x_train, data.y_train, config.training.batch_size, shuffle=True)


def _timed_fit(model, batches, steps: int, warmup: int = 3) -> float:
    """Seconds for `steps` training steps, after `warmup` steps that pay for tracing."""
    model.fit(batches, steps_per_epoch=warmup, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    return time.perf_counter() - started


def _images_per_second(model, batches, steps: int, warmup: int = 3) -> float:
    return steps * batches.batch_size / _timed_fit(model, batches, steps, warmup)


def _child_json(arguments: list[str], what: str, python: str = sys.executable, env: dict | None = None) -> dict:
    """Runs this script as a child process and returns the JSON object of its last line."""
    child = subprocess.run([python, __file__, *arguments], capture_output=True, text=True, cwd=ROOT, env=env)
    if child.returncode != 0:
        lines = child.stderr.strip().splitlines() or ["(no output)"]
        raise SystemExit(f"{what} run failed: {lines[-1]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def _emit(result: dict, out: Path | None) -> dict:
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")
    return result


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
    def peak_rss_mb() -> float:
        """VmHWM: the peak resident set of this process image (ru_maxrss would also count
        the parent's pages from before exec)."""
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024

    config, model, batches = _training_setup("seed_mobilenetv2_cbam_scratch")
    samples = []

    class Sample(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (batch + 1) % max(steps // 4, 1) == 0:
                samples.append({"step": batch + 1, "peak_rss_mb": round(peak_rss_mb(), 1)})

    before = peak_rss_mb()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[Sample()])
    print(json.dumps({"dataset_digits": len(batches.images), "batch_size": config.training.batch_size,
                      "image_size": config.model.image_size, "steps": steps,
                      "peak_rss_mb_before_training": round(before, 1), "samples": samples,
                      "peak_rss_mb": round(peak_rss_mb(), 1)}))


def allocator_child(steps: int) -> None:
    """Runs in a child process: trains the quick model through the real input path for
    `steps` steps and prints images/s, the share of CPU time spent in the kernel and the
    minor page faults, for whichever CPU allocator TF_CPU_ALLOCATOR_USE_BFC selected."""
    import resource

    config, model, batches = _training_setup("quick")
    model.fit(batches, steps_per_epoch=5, epochs=1, verbose=0)  # warm-up: tracing, first allocations
    times, faults = os.times(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    seconds = _timed_fit(model, batches, steps, warmup=0)
    after = os.times()
    user, system = after.user - times.user, after.system - times.system
    print(json.dumps({"bfc": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"), "steps": steps,
                      "images_per_second": round(steps * config.training.batch_size / seconds, 1),
                      "kernel_share": round(system / max(user + system, 1e-9), 3),
                      "minor_page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}))


def backend_child(steps: int, experiment: str) -> None:
    """Runs in a child process on whichever backend KERAS_BACKEND selects: trains the
    experiment's model through the real input path and prints its images per second."""
    config, model, batches = _training_setup(experiment)
    seconds = _timed_fit(model, batches, steps, warmup=5)  # warm-up: tracing or compiling
    print(json.dumps({"backend": keras.backend.backend(), "experiment": experiment, "steps": steps,
                      "images_per_second": round(steps * config.training.batch_size / seconds, 1)}))


def backend_comparison(steps: int, rounds: int, jax_python: Path, experiment: str = "quick") -> dict:
    """The same model's training speed on TensorFlow and on JAX, alternating child processes."""
    pythons = {"tensorflow": sys.executable, "jax": str(jax_python)}
    if not Path(pythons["jax"]).is_file():
        raise SystemExit(f"no JAX environment at {jax_python}; `make test` builds it (.venv-jax)")
    runs: dict[str, list] = {name: [] for name in pythons}
    for _ in range(rounds):
        for backend, python in pythons.items():
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
            child = _child_json(["--backend-child", str(steps), "--backend-experiment", experiment], backend,
                                python=python, env=env)
            runs[backend].append(child["images_per_second"])
    best = {backend: max(values) for backend, values in runs.items()}
    return {"experiment": experiment, "steps": steps, "images_per_second": best, "rounds": runs,
            "jax_over_tensorflow": round(best["jax"] / best["tensorflow"], 2)}


def module_costs(steps: int, rounds: int) -> dict:
    """Training and inference speed of the ablation's models, alternating rounds, best each."""
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.models import count_params

    data = load_mnist()
    digits = to_model_input(data.x_test[:1024])
    models = {}
    for module in ("none", "se", "cbam", "pam", "gc"):
        _, model, batches = _training_setup(f"ablation_{module}", data, seed=0)
        model.fit(batches, steps_per_epoch=5, epochs=1, verbose=0)  # warm-up
        model.predict(digits[:256], batch_size=256, verbose=0)
        models[module] = (model, batches, count_params(model)["total"])
    train, infer = {m: [] for m in models}, {m: [] for m in models}
    for _ in range(rounds):
        for module, (model, batches, _) in models.items():
            train[module].append(round(_images_per_second(model, batches, steps, warmup=1), 1))
            started = time.perf_counter()
            model.predict(digits, batch_size=256, verbose=0)
            infer[module].append(round(1000 * (time.perf_counter() - started) / len(digits), 4))
    return {module: {"params": params, "train_images_per_second": max(train[module]),
                     "inference_ms_per_digit": min(infer[module]), "rounds_train": train[module],
                     "rounds_inference": infer[module]}
            for module, (_, _, params) in models.items()}


def allocator_comparison(steps: int, rounds: int) -> dict:
    """The quick model's training speed with TensorFlow's BFC CPU allocator (attention_xai's
    default) and with TensorFlow's own default, alternating child processes."""
    runs: dict[str, list] = {"true": [], "false": []}
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    for _ in range(rounds):
        for bfc in runs:
            env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": bfc, "TF_CPP_MIN_LOG_LEVEL": "3"}
            runs[bfc].append(_child_json(["--allocator-child", str(steps)], "allocator", env=env))
    best = {bfc: max(rows, key=lambda r: r["images_per_second"]) for bfc, rows in runs.items()}
    return {"transparent_hugepages": thp.read_text().strip() if thp.exists() else "unknown",
            "with_bfc": best["true"], "without_bfc": best["false"], "rounds": runs,
            "speedup": round(best["true"]["images_per_second"] / best["false"]["images_per_second"], 2)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="timed training steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per model (best one counts)")
    parser.add_argument("--memory-steps", type=int, default=200, help="steps of the peak-memory run (0: skip)")
    parser.add_argument("--out", type=Path, help="also write the JSON summary here")
    parser.add_argument("--allocator-steps", type=int, default=60,
                        help="steps of the with/without BFC allocator comparison (0: skip)")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--allocator-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--only-allocator", action="store_true", help="run only the allocator comparison")
    parser.add_argument("--only-backends", action="store_true", help="run only the TensorFlow-vs-JAX comparison")
    parser.add_argument("--only-modules", action="store_true", help="run only the attention modules' cost comparison")
    parser.add_argument("--backend-steps", type=int, default=60, help="timed steps per backend run")
    parser.add_argument("--jax-python", type=Path, default=ROOT / ".venv-jax" / "bin" / "python")
    parser.add_argument("--backend-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend-experiment", default="quick", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.backend_child:
        backend_child(args.backend_child, args.backend_experiment)
        return {}
    if args.memory_child:
        peak_memory_child(args.memory_child)
        return {}
    if args.allocator_child:
        allocator_child(args.allocator_child)
        return {}
    from attention_xai.machine import cpu_description

    # Timings differ about 3x between 2-core machines with and without AVX-512: the CPU travels with them.
    result = {"machine": cpu_description(),
              "keras": keras.__version__, "backend": keras.backend.backend()}
    if args.only_backends or args.only_modules:
        if args.only_backends:
            result["backends"] = backend_comparison(args.backend_steps, args.rounds, args.jax_python)
        if args.only_modules:
            result["modules"] = module_costs(args.backend_steps, args.rounds)
        return _emit(result, args.out)
    if args.allocator_steps:
        result["allocator"] = allocator_comparison(args.allocator_steps, args.rounds)
    if args.only_allocator:
        return _emit(result, args.out)
    result["input_path"] = [input_path_ratio("seed_mobilenetv2_cbam_scratch", args.steps, args.rounds),
                            input_path_ratio("quick", args.steps * 10, args.rounds)]
    if args.memory_steps:
        result["peak_memory_224"] = _child_json(["--memory-child", str(args.memory_steps)], "memory")
    return _emit(result, args.out)


if __name__ == "__main__":
    main()
