"""Target 6: CLI start-up. `syncsvc --help` and `syncsvc status` (vdir backend) against the
baseline `python -c "import syncsvc"`, best of N runs each (wall clock), interleaved, with
compiled bytecode present (as an installed copy has it).

Also times the floor for `status` (the standard-library modules any status needs, imported
together with syncsvc) and lists the slowest imports of `syncsvc status` (python -X importtime),
which is what limits the figure. Usage: bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from _common import PYTHON, child_env, report, tempdir, verdict

# What any `status` must import from the standard library: a command line, the TOML config,
# the SQLite store, "today" in the person's time zone. Its start-up is a floor for status.
STATUS_NEEDS = ("argparse", "tomllib", "sqlite3", "zoneinfo", "datetime")
FLOOR = "floor: import " + ", ".join(STATUS_NEEDS)


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def slowest_imports(argv: list[str], env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True
    )
    rows = []
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if match and len(match.group(2)) <= 2:  # top-level imports only (cumulative times)
            rows.append((match.group(3), int(match.group(1)) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempdir() as tmp:
        cfg = tmp / "config.toml"
        cfg.write_text(f'data_dir = "{tmp / "data"}"\n[calendar]\nbackend = "vdir"\n')
        env = child_env(tmp)
        cli = [PYTHON, "-m", "syncsvc"]
        commands = {
            'python -c "import syncsvc"': [PYTHON, "-c", "import syncsvc"],
            "syncsvc --help": [*cli, "--help"],
            "syncsvc status (vdir)": [*cli, "--config", str(cfg), "status"],
            FLOOR: [PYTHON, "-c", f"import syncsvc, {', '.join(STATUS_NEEDS)}"],
        }
        # As an installed copy runs: with compiled bytecode. The first run of each command
        # writes the .pyc files (to the checkout's git-ignored __pycache__) and creates the store.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for argv in commands.values():
            timed(argv, env)
        best = {name: float("inf") for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                best[name] = min(best[name], timed(argv, env))
        imports = slowest_imports(commands["syncsvc status (vdir)"], env)
    base = best['python -c "import syncsvc"']
    rows = [(name, f"{seconds * 1000:.0f} ms") for name, seconds in best.items()]
    for name in ("syncsvc --help", "syncsvc status (vdir)"):
        ratio = best[name] / base
        rows.append((f"  target 6: {name} <= 1.5x", f"{ratio:.2f}x -> {verdict(ratio <= 1.5)}"))
    rows.append((f"  {FLOOR}", f"{best[FLOOR] / base:.2f}x, before any syncsvc code runs"))
    rows.append(
        ("slowest imports of status", ", ".join(f"{m} {s * 1000:.0f} ms" for m, s in imports))
    )
    report(f"CLI start-up (target 6), best of {args.runs}, {Path(sys.executable).name}", rows)
    return best


if __name__ == "__main__":
    main()
