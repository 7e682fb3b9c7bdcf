"""``python -m bench`` (``make bench``): run every benchmark, one after another, and print their
RESULT lines together at the end.

Each benchmark is a package ``bench/<name>/`` with a ``__main__.py``; it runs in its own process
(``python -m bench.<name>``) so that one's imports, threads and memory do not colour the next.
``--only a,b`` or ``--skip a,b`` choose; the last line is ``RESULT benchmarks=N failed=N ...``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(p.parent.name for p in HERE.glob("*/__main__.py") if not p.parent.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--only", default="", help="comma-separated benchmark names")
    ap.add_argument("--skip", default="", help="comma-separated benchmark names")
    ap.add_argument("--list", action="store_true", help="print the benchmark names and exit")
    args = ap.parse_args(argv)
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    unknown = (only | skip) - set(names)
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; there are: {', '.join(names)}")
    chosen = [n for n in names if (not only or n in only) and n not in skip]
    results: list[tuple[str, str, float]] = []
    failed: list[str] = []
    started = time.monotonic()
    for i, name in enumerate(chosen, 1):
        print(f"\n=== [{i}/{len(chosen)}] python -m bench.{name}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent, stdout=subprocess.PIPE, text=True, bufsize=1)
        last = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("RESULT "):
                last = line.strip()
        code = proc.wait()
        took = time.monotonic() - t0
        if code != 0 or not last:
            failed.append(name)
            last = f"(failed: exit {code}{'' if last else ', no RESULT line'})"
        results.append((name, last, took))
    print("\n=== summary")
    for name, line, took in results:
        print(f"bench.{name} ({took:.0f} s): {line}")
    total = time.monotonic() - started
    print(
        f"RESULT benchmarks={len(chosen)} failed={len(failed)} seconds={total:.0f}"
        + (f" failed_names={','.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
