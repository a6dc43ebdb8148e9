"""What machine a timing was taken on: recorded beside every timing we write, because the
2-core machines this project runs on differ about 3x in speed (AVX-512 or AVX2 only)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_description() -> dict:
    """{"cpu": model name, "vector_extensions": "AVX-512" / "AVX2" / "none of AVX2, AVX-512",
    "cores": usable cores, "arch": machine}, from /proc/cpuinfo where there is one."""
    name, flags = "", []
    try:
        text = Path("/proc/cpuinfo").read_text()
        lines = text.splitlines()
        name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
        flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    except OSError:
        pass
    vector = "AVX-512" if any(f.startswith("avx512") for f in flags) else "AVX2" if "avx2" in flags else (
        "none of AVX2, AVX-512" if flags else "unknown")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": name or platform.processor() or platform.machine(), "vector_extensions": vector, "cores": cores,
            "arch": platform.machine()}


def cpu_line() -> str:
    """The same in one line: "AMD EPYC (AVX2), 2 cores"."""
    d = cpu_description()
    return f"{d['cpu']} ({d['vector_extensions']}), {d['cores']} cores"
