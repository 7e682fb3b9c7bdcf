"""Helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "data" / "labels" / "labelled.jsonl"


def one_core() -> str:
    """Pin this process to one CPU and keep numeric libraries single-threaded."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    except (AttributeError, OSError):
        return "unpinned"


def real_posts(min_chars: int = 300, limit: int | None = None) -> list[dict[str, Any]]:
    """Real citizen posts shipped in the repo (the labelled set), at least ``min_chars`` long."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if len(r["content"]) >= min_chars]
    return rows[:limit] if limit else rows


def peak_rss_mb() -> float:
    """Peak resident memory of this process. /proc's VmHWM, because ru_maxrss of a child started
    by fork+exec also counts the parent's memory copied before the exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def result_line(**values: float | int | str) -> str:
    return "RESULT " + " ".join(f"{k}={v}" for k, v in values.items())
