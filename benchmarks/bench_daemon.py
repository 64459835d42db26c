"""Target 5: the daemon's footprint (`syncsvc run`, vdir backend, 1,000 events in the calendar).

Starts the daemon with NOTIFY_SOCKET pointing at this script, waits for its first STATUS after
the catch-up (plan + sync), then reads RSS from /proc and its CPU time over an idle window.
By default the window is the target's: 5 real minutes with the default poll_minutes = 5. It
starts 5 s after the catch-up, so it holds exactly one poll (due 5 minutes after the catch-up).
`--idle 65 --poll 1` is a quicker smoke run: one poll in 65 s, scaled up to 5 minutes (as if it
polled every 65 s: an over-estimate).
Baseline (same run): RSS of a bare `python -c "import time; time.sleep(...)"`.
Usage: bench_daemon.py [--idle SECONDS] [--poll MINUTES]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from _common import PYTHON, child_env, report, run_measured, tempdir, verdict

FILL = """
from datetime import date
from syncsvc import config
from syncsvc.app import App
app = App(config.load(sys.argv[1]))
with app.store.tx() as conn:
    conn.executemany(
        "INSERT INTO people(name, source, added_at, shuffle) VALUES (?, 'vcard', '2024-01-01', ?)",
        ((f"Person {i}", i) for i in range(1010)),
    )
app.plan(date.today(), days=334)
app.close()
_done()
"""

TICK = os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def proc_cpu_s(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    after = stat[stat.rindex(")") + 2 :].split()
    return (int(after[11]) + int(after[12])) / TICK  # utime + stime


def wait_ready(sock: socket.socket, proc: subprocess.Popen[bytes], limit: float = 120) -> float:
    """Seconds until the first STATUS= that is not 'catching up' (the catch-up is done)."""
    start = time.perf_counter()
    sock.settimeout(1.0)
    while time.perf_counter() - start < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode}")
        try:
            message = sock.recv(4096).decode()
        except TimeoutError:
            continue
        for line in message.splitlines():
            if line.startswith("STATUS=") and "catching up" not in line:
                return time.perf_counter() - start
    raise RuntimeError("daemon did not finish its catch-up")


def count_statuses(sock: socket.socket, seconds: float) -> int:
    """Sleep for seconds, counting the daemon's STATUS updates (one after each job run)."""
    end = time.perf_counter() + seconds
    seen = 0
    while (left := end - time.perf_counter()) > 0:
        sock.settimeout(left)
        try:
            seen += sock.recv(4096).decode().startswith("STATUS=")
        except TimeoutError:
            break
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=float, default=300.0, help="idle window in seconds")
    parser.add_argument("--poll", type=int, default=5, help="poll_minutes during the window")
    args = parser.parse_args()
    with tempdir() as tmp:
        cfg = tmp / "config.toml"
        cfg.write_text(
            f'data_dir = "{tmp / "data"}"\n[calendar]\nbackend = "vdir"\n'
            f'[calls]\ntimezone = "Europe/Berlin"\n'
            'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
            f"[sync]\npoll_minutes = {args.poll}\n"
        )
        env = child_env(tmp)
        run_measured(FILL, str(cfg), env=env)
        events = sum(1 for p in (tmp / "data" / "calendar").iterdir() if p.suffix == ".ics")
        sock_path = tmp / "notify.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(sock_path))
        env["NOTIFY_SOCKET"] = str(sock_path)
        proc = subprocess.Popen(
            [PYTHON, "-m", "syncsvc", "--config", str(cfg), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            ready = wait_ready(sock, proc)
            rss, peak = proc_rss_mb(proc.pid)
            startup_cpu = proc_cpu_s(proc.pid)
            count_statuses(sock, 5.0)  # the window starts a little after the catch-up
            cpu0 = proc_cpu_s(proc.pid)
            polls = count_statuses(sock, args.idle)
            idle_cpu = proc_cpu_s(proc.pid) - cpu0
            rss_after, peak_after = proc_rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            sock.close()
        bare = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(5)"])
        time.sleep(1)
        bare_rss, _ = proc_rss_mb(bare.pid)
        bare.kill()
        bare.wait()
    five_min = idle_cpu * 300 / args.idle
    rows = [
        ("events in the vdir calendar", f"{events}"),
        ("start-up + catch-up", f"{ready:.2f} s wall, {startup_cpu:.2f} s CPU"),
        ("RSS after start-up", f"{rss:.1f} MB (peak {peak:.1f} MB)"),
        ("baseline: bare python RSS", f"{bare_rss:.1f} MB"),
        ("  target 5a: <= 60 MB", f"{rss / bare_rss:.1f}x bare python -> {verdict(rss <= 60)}"),
        (f"idle {args.idle:.0f} s ({polls} job runs seen)",
         f"{idle_cpu:.3f} s CPU, RSS {rss_after:.1f} MB after (peak {peak_after:.1f} MB)"),
        ("  target 5b: 5 min <= 0.5 s CPU", f"<= {five_min:.3f} s (window x {300 / args.idle:.0f}"
                                            f"{', real 5 min' if args.idle >= 300 else ''}) -> "
                                            f"{verdict(five_min <= 0.5)}"),
    ]  # fmt: skip
    report("daemon footprint (target 5)", rows)


if __name__ == "__main__":
    main()
