"""Run every benchmark, one after the other, in one go: `.venv/bin/python benchmarks/run_all.py`.

About 8 minutes, 5 of them the daemon's real 5 idle minutes (target 5).
--quick uses smaller inputs and a 65 s idle window (a smoke run, not the figures).
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
    args = parser.parse_args()
    idle = ["--idle", "65", "--poll", "1"] if args.quick else []
    runs = [
        ("bench_import.py", ["--cards", "5000", "--big", "0"] if args.quick else []),
        ("bench_plan.py", ["--people", "20000"] if args.quick else []),
        ("bench_poll.py", ["--events", "300"] if args.quick else []),
        ("bench_daemon.py", idle),
        ("bench_startup.py", ["--runs", "5"] if args.quick else []),
        ("bench_install.py", ["--no-before"] if args.quick else []),  # needs the network
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
