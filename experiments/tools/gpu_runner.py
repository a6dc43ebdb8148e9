"""The seed configurations at full size, on a GPU machine with JAX: one command.

Trains, one after the other, ResNet50, EfficientNetB0 and MobileNetV2 with CBAM at 224x224
on all 60,000 training digits (from scratch: `_scratch` experiments, since GPU machines
often cannot fetch ImageNet weights either), then the attention ablation at 224x224
(MobileNetV2 with none, SE, PAM and GC; its CBAM cell is the MobileNetV2 run). Each run
writes the usual artifacts (`saved_models/<name>/model.keras`, `metrics.json`,
`history.csv`), resumes after an interruption, and the next one starts even if one fails.
Afterwards, on any machine with the main environment: `python -m attention_xai report`.

    KERAS_BACKEND=jax python experiments/tools/gpu_runner.py                  # everything
    KERAS_BACKEND=jax python experiments/tools/gpu_runner.py --only seed_resnet50_cbam_scratch
    python experiments/tools/gpu_runner.py --dry-run                           # print the commands

Mixed precision is chosen from the first device (`--precision auto`): bfloat16 on GPUs
of compute capability 8.0 and above, float16 on older ones, float32 on a CPU. The exported
models are float32 either way. `--distribute` trains on every visible GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results"
SEED_RUNS = ("seed_resnet50_cbam_scratch", "seed_efficientnetb0_cbam_scratch", "seed_mobilenetv2_cbam_scratch")
ABLATION = ("none", "se", "pam", "gc")  # at 224x224 on MobileNetV2; cbam is seed_mobilenetv2_cbam_scratch
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


def runs() -> list[tuple[str, list[str]]]:
    """(artifact name, extra `train` arguments) of every run, in order."""
    return ([(name, []) for name in SEED_RUNS]
            + [(f"seed_mobilenetv2_cbam_scratch-{module}", ["seed_mobilenetv2_cbam_scratch", "--attention", module])
               for module in ABLATION])


def auto_precision() -> str:
    """mixed_bfloat16 on GPUs of compute capability >= 8, mixed_float16 on older GPUs, else float32."""
    try:
        import jax

        device = jax.devices()[0]
    except Exception:  # no JAX here: leave the choice to a float32 run
        return "float32"
    if device.platform != "gpu":
        return "float32"
    capability = float(getattr(device, "compute_capability", "0") or 0)
    return "mixed_bfloat16" if capability >= 8.0 else "mixed_float16"


def command(name: str, extra: list[str], precision: str, args) -> list[str]:
    experiment = extra[0] if extra else name
    cmd = [sys.executable, "-m", "attention_xai", "train", experiment, *extra[1:], "--name", name,
           "--models-dir", str(args.models_dir), "--quiet"]
    if precision != "float32":
        cmd += ["--precision", precision]
    if args.distribute:
        cmd.append("--distribute")
    if args.smoke:
        cmd.append("--smoke")
    return cmd


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated run names (default: all)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--distribute", action="store_true", help="data-parallel on every visible device")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "saved_models")
    parser.add_argument("--summary", type=Path, default=RESULTS / "gpu_runs.json")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--smoke", action="store_true", help="each run shrunk to seconds (tests)")
    args = parser.parse_args(argv)

    selected = runs()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {name for name, _ in selected})
        if unknown or not wanted:
            parser.error(f"unknown run(s) {', '.join(unknown) or '(none given)'}; valid: "
                         f"{', '.join(name for name, _ in selected)}")
        selected = [(name, extra) for name, extra in selected if name in wanted]
    precision = auto_precision() if args.precision == "auto" and not args.dry_run else args.precision
    if args.dry_run:
        if precision == "auto":
            print("# --precision auto: chosen from the first device when the runs start")
        for name, extra in selected:
            print(" ".join(command(name, extra, "float32" if precision == "auto" else precision, args)))
        return 0
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")}
    results = []
    for name, extra in selected:
        started = time.perf_counter()
        done = subprocess.run(command(name, extra, precision, args), env=env, cwd=ROOT)
        row = {"run": name, "precision": precision, "exit_code": done.returncode,
               "wall_seconds": round(time.perf_counter() - started, 1)}
        metrics = args.models_dir / name / "metrics.json"
        if done.returncode == 0 and metrics.is_file():
            m = json.loads(metrics.read_text())
            row.update(test_accuracy=m["test_accuracy"], epochs=m["epochs"], train_seconds=m["train_seconds"],
                       seconds_per_epoch=round(m["train_seconds"] / max(m["epochs"], 1), 1),
                       device=m.get("versions", {}).get("backend"))
        results.append(row)
        print(json.dumps(row), flush=True)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
