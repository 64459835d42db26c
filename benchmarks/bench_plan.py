"""Target 3: planning a day with 100,000 people in the store, and `people --json` streaming.

Planning is timed as `App.plan(day, dry_run=True)` (choose + insert, rolled back, no calendar
write), best of N, against the baseline of loading everyone (`SELECT * FROM people`, fetched) in
the same process. `people --json` is timed from process start to the first byte on stdout and
to the last, against `python -c "import syncsvc"`. Usage: bench_plan.py [--people N]
"""

from __future__ import annotations

import argparse
import subprocess
import time

from _common import PYTHON, SEED, child_env, report, run_measured, tempdir, verdict

FILL = """
from syncsvc import config
from syncsvc.app import App
import random
rng = random.Random(int(sys.argv[3]))
app = App(config.load(sys.argv[1]))
n = int(sys.argv[2])
with app.store.tx() as conn:
    conn.executemany(
        "INSERT INTO people(name, org, source, added_at, shuffle, rotation_key, last_contacted) "
        "VALUES (?, ?, 'vcard', '2024-01-01T00:00:00+00:00', ?, ?, ?)",
        (
            (f"Person {i:06d}", f"Org {i % 977}", rng.getrandbits(62),
             "" if i % 3 else f"{1 + i % 4:05d}:2024-0{1 + i % 9}-1{i % 10}",
             None if i % 3 else f"2024-0{1 + i % 9}-1{i % 10}")
            for i in range(n)
        ),
    )
    conn.executemany(
        "INSERT INTO addresses(person_id, kind, value, norm) VALUES (?, 'email', ?, ?)",
        ((i + 1, f"p{i}@example.org", f"p{i}@example.org") for i in range(n)),
    )
app.close()
_done(people=n)
"""

PLAN = """
from datetime import date
from syncsvc import config
from syncsvc.app import App
app = App(config.load(sys.argv[1]))
day = date.fromisoformat(sys.argv[2])
app.store  # open it outside the timing
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    calls = app.plan(day, dry_run=True)
    times.append(time.perf_counter() - t)
t = time.perf_counter()
rows = app.store.conn.execute("SELECT * FROM people").fetchall()
load_all = time.perf_counter() - t
t = time.perf_counter()
real = app.plan(day)  # for real, written to the vdir calendar
real_s = time.perf_counter() - t
app.close()
_done(seconds=min(times), calls=len(calls), load_all=load_all,
      loaded=len(rows), real_s=real_s, real_calls=len(real))
"""


def first_byte(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    ttfb = time.perf_counter() - start
    size = len(first) + len(proc.stdout.read())
    proc.wait()
    return ttfb, time.perf_counter() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    day = "2030-03-05"  # a Tuesday, in the future, the same every run
    with tempdir() as tmp:
        cfg = tmp / "config.toml"
        cfg.write_text(
            f'data_dir = "{tmp / "data"}"\n[calendar]\nbackend = "vdir"\n'
            '[calls]\ntimezone = "Europe/Berlin"\n'
        )
        env = child_env(tmp)
        run_measured(FILL, str(cfg), str(args.people), str(SEED), env=env)
        plan = run_measured(PLAN, str(cfg), day, str(args.repeat), env=env)
        cli = [PYTHON, "-m", "syncsvc", "--config", str(cfg), "people", "--json"]
        runs = [first_byte(cli, env) for _ in range(3)]
        ttfb, total, size = min(runs)
        start_up = min(timed_run([PYTHON, "-c", "import syncsvc"], env) for _ in range(5))
    ms = plan["seconds"] * 1000
    rows = [
        ("people in the store", f"{args.people}"),
        (f"plan a day (dry run, best of {args.repeat})", f"{ms:.1f} ms, {plan['calls']} calls"),
        ("baseline: load everyone", f"{plan['load_all'] * 1000:.0f} ms ({plan['loaded']} rows)"),
        (
            "  target 3: <= 50 ms",
            f"{plan['load_all'] / plan['seconds']:.0f}x less than loading "
            f"everyone -> {verdict(ms <= 50)}",
        ),
        ("plan + write to vdir", f"{plan['real_s'] * 1000:.0f} ms, {plan['real_calls']} calls"),
        (
            "people --json: first byte",
            f"{ttfb * 1000:.0f} ms after start (python -c "
            f'"import syncsvc": {start_up * 1000:.0f} ms)',
        ),
        ("people --json: all", f"{total:.2f} s, {size / 1e6:.1f} MB"),
        ("  streams (first byte << all)", f"{total / ttfb:.0f}x -> {verdict(ttfb < total / 5)}"),
    ]
    report("planning and listing (target 3)", rows)


def timed_run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
