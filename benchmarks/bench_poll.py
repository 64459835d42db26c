"""Target 4: a poll (`App.sync`) of a vdir calendar holding 1,000 syncsvc events, nothing changed.

Counts how many .ics files are parsed (ics.from_ical calls) and the CPU time per poll, best of N;
the baseline in the same process is a poll after every file's mtime was bumped (all 1,000
re-read and re-parsed). CalDAV and Google: one request per unchanged poll is covered by the test
suite (tests/test_caldav*.py, tests/test_google_*.py); not repeated here.
Usage: bench_poll.py [--events N] [--repeat N]
"""

from __future__ import annotations

import argparse

from _common import child_env, report, run_measured, tempdir, verdict

FILL = """
from syncsvc import config
from syncsvc.app import App
app = App(config.load(sys.argv[1]))
with app.store.tx() as conn:
    conn.executemany(
        "INSERT INTO people(name, source, added_at, shuffle) VALUES (?, 'vcard', '2024-01-01', ?)",
        ((f"Person {i}", i) for i in range(int(sys.argv[2]))),
    )
app.close()
_done()
"""

POLL = """
import os
from datetime import date
from syncsvc import config
from syncsvc.app import App
from syncsvc.calendars import ics

parses = [0]
original = ics.from_ical
def counting(*args, **kwargs):
    parses[0] += 1
    return original(*args, **kwargs)
ics.from_ical = counting

app = App(config.load(sys.argv[1]))
events = int(sys.argv[2])
planned = app.plan(date(2030, 1, 1), days=-(-events // 3))
app.sync()  # settle: the first read of our own fresh writes

def poll():
    parses[0] = 0
    c, t = time.process_time(), time.perf_counter()
    app.sync()
    return time.process_time() - c, time.perf_counter() - t, parses[0]

quiet = min(poll() for _ in range(int(sys.argv[3])))
folder = app.config.calendar_path
files = [e.path for e in os.scandir(folder) if e.name.endswith(".ics")]
for path in files:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
full = poll()
again = poll()
app.close()
_done(events=len(files), planned=len(planned), quiet_cpu=quiet[0], quiet_wall=quiet[1],
      quiet_parses=quiet[2], full_cpu=full[0], full_wall=full[1], full_parses=full[2],
      after_cpu=again[0], after_parses=again[2])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempdir() as tmp:
        cfg = tmp / "config.toml"
        cfg.write_text(
            f'data_dir = "{tmp / "data"}"\n[calendar]\nbackend = "vdir"\n[calls]\n'
            'timezone = "Europe/Berlin"\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        )
        env = child_env(tmp)
        run_measured(FILL, str(cfg), str(args.events + 10), env=env)
        r = run_measured(POLL, str(cfg), str(args.events), str(args.repeat), env=env)
    cpu_ms = r["quiet_cpu"] * 1000
    rows = [
        ("events in the vdir folder", f"{r['events']}"),
        (f"unchanged poll (best of {args.repeat})",
         f"{cpu_ms:.1f} ms CPU, {r['quiet_wall'] * 1000:.1f} ms wall, {r['quiet_parses']} parses"),
        ("baseline: every file touched", f"{r['full_cpu'] * 1000:.0f} ms CPU, "
                                         f"{r['full_parses']} parses"),
        ("the poll after that", f"{r['after_cpu'] * 1000:.1f} ms CPU, {r['after_parses']} parses"),
        ("  target 4: 0 parses, <= 100 ms CPU",
         f"{r['full_cpu'] / r['quiet_cpu']:.0f}x less CPU than the baseline -> "
         f"{verdict(r['quiet_parses'] == 0 and cpu_ms <= 100)}"),
    ]  # fmt: skip
    report("polling, vdir (target 4)", rows)


if __name__ == "__main__":
    main()
