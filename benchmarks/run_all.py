"""Run every benchmark, one after the other, in one go: `.venv/bin/python benchmarks/run_all.py`.

--quick uses smaller inputs and a shorter idle window (a smoke run, not the figures).
--real-idle runs the daemon's real 5 idle minutes (poll every 5 min) instead of extrapolating.
Each benchmark generates its own data (fixed seed) in a temporary folder and prints its figures
with the ratio to its baseline, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--real-idle", action="store_true")
    args = parser.parse_args()
    if args.quick:
        idle = ["--idle", "15"]
    elif args.real_idle:
        idle = ["--idle", "300", "--poll", "5"]
    else:
        idle = ["--idle", "65"]
    runs = [
        ("bench_import.py", ["--cards", "5000", "--big", "0"] if args.quick else []),
        ("bench_plan.py", ["--people", "20000"] if args.quick else []),
        ("bench_poll.py", ["--events", "300"] if args.quick else []),
        ("bench_daemon.py", idle),
        ("bench_startup.py", ["--runs", "5"] if args.quick else []),
    ]
    print(f"syncsvc benchmarks on {machine()}")
    failed = 0
    for script, extra in runs:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(HERE / script), *extra], cwd=HERE)
        print(f"  ({script} {' '.join(extra)}: {time.perf_counter() - start:.0f} s)")
        failed += proc.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
