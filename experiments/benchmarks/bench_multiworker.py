"""Benchmark: one process against two on this machine (127.0.0.1), for the Keras backend
this Python runs (TensorFlow: MultiWorkerMirroredStrategy through TF_CONFIG; JAX:
jax.distributed through KERAS_DISTRIBUTION_*), training the same experiment with the same
global batch. A correctness demonstration with timings, not a speed-up claim: two processes
on two cores share the same cores.

Per run: training digits per second over the epochs (validation included), test accuracy,
wall seconds of the whole command; written with the CPU to --out.

    python experiments/benchmarks/bench_multiworker.py [--epochs 1] [--experiment quick] [--out FILE]
    KERAS_BACKEND=jax .venv-jax/bin/python experiments/benchmarks/bench_multiworker.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results"

EXPERIMENT = '''
import dataclasses
from attention_xai.experiment import load_experiment


def config():
    base = load_experiment({name!r})
    phases = (dataclasses.replace(base.training.phases[0], epochs={epochs}),)
    return dataclasses.replace(base, name="mw_bench", training=dataclasses.replace(base.training, phases=phases))
'''


def run(backend: str, processes: int, experiment: Path, folder: Path) -> dict:
    from attention_xai.cluster import free_loopback_ports, loopback_settings

    ports = free_loopback_ports(processes)
    started = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, "-m", "attention_xai", "train", str(experiment), "--quiet",
                                 *(["--distribute"] if processes > 1 else []), "--models-dir", str(folder)],
                                cwd=ROOT, env={**os.environ, **loopback_settings(backend, ports, i),
                                               "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for i in range(processes)]
    errors = [w.communicate()[1] for w in workers]
    wall = time.perf_counter() - started
    if any(w.returncode for w in workers):
        raise SystemExit("a run failed:\n" + "\n".join(e[-2000:] for e in errors))
    metrics = json.loads((folder / "mw_bench" / "metrics.json").read_text())
    seconds = metrics["train_seconds"]
    return {"processes": processes, "test_accuracy": metrics["test_accuracy"], "train_seconds": seconds,
            "digits_per_second": round(metrics["train_size"] * metrics["epochs"] / seconds, 1),
            "wall_seconds": round(wall, 1), "workers_recorded": metrics.get("workers")}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", default="quick")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import keras

    from attention_xai.artifacts import write_json
    from attention_xai.machine import cpu_description

    backend = keras.backend.backend()
    out = args.out or RESULTS / f"bench_multiworker_{backend}.json"
    report = {"backend": backend, "experiment": args.experiment, "epochs": args.epochs, "machine": cpu_description(),
              "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        experiment = Path(tmp) / "mw_bench.py"
        experiment.write_text(EXPERIMENT.format(name=args.experiment, epochs=args.epochs))
        for processes in (1, 2):
            row = run(backend, processes, experiment, Path(tmp) / f"p{processes}")
            print(json.dumps(row), flush=True)
            report["runs"].append(row)
    one, two = report["runs"]
    report["two_vs_one_digits_per_second"] = round(two["digits_per_second"] / one["digits_per_second"], 3)
    report["accuracy_difference"] = round(two["test_accuracy"] - one["test_accuracy"], 4)
    write_json(out, report)
    print(f"written: {out}")
    return report


if __name__ == "__main__":
    main()
