"""Fault injection: run the real ``syncsvc`` (``plan``, ``sync``, the daemon ``run``) in a
subprocess, kill it with SIGKILL at random times or at injected points, then check that a normal
run repairs everything.

After each kill the harness runs ``plan`` + ``sync`` to completion (one process, see
``tests/google_launcher.py``) and asserts:

- ``PRAGMA integrity_check`` is ``ok`` (also checked right after the kill, before recovery);
- every day that has calls in the store has exactly ``per_day`` of them, and the calendar holds
  exactly one event per call (counted by UID at the server or in the folder; no event without
  a call, no call without an event);
- every note the "person" wrote before the kill was applied exactly once: the call is ``done``,
  it has exactly one referral (the person it named exists once) and exactly one offer.

Between rounds the harness acts as the person: it writes ``done`` / ``ref:`` / ``offer:`` notes
into events that exist at the server (through the backend, as a phone would), and it changes
the topic now and then so runs rewrite (``update``) every untouched future event.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import icalendar

REPO = Path(__file__).resolve().parents[1]
MARKER = "--- notes (write below this line) ---"
KILL_POINTS = ("create.before", "create.after", "create.recorded", "update.after",
               "changes.after", "tx.commit", "lock.taken")  # fmt: skip


# --------------------------------------------------------------------------- backends
class Backend:
    """Where the events are, seen from outside syncsvc (the server, the folder)."""

    name = "?"
    endpoint = "-"  # for tests.google_launcher

    def calendar_config(self, data_dir: Path) -> dict[str, Any]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}

    def events(self) -> list[tuple[str, str, str]]:
        """Every event of syncsvc's as (uid, call_id, description); a uid may repeat."""
        raise NotImplementedError

    def write_note(self, uid: str, text: str) -> None:
        raise NotImplementedError


class VdirBackend(Backend):
    name = "vdir"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def calendar_config(self, data_dir: Path) -> dict[str, Any]:
        return {"backend": "vdir", "path": str(self.folder)}

    def _vevents(self) -> list[tuple[Path, Any]]:
        out = []
        if not self.folder.is_dir():
            return out
        for path in sorted(self.folder.glob("*.ics")):
            if path.name.startswith("."):
                continue
            cal = icalendar.Calendar.from_ical(path.read_bytes())
            out += [(path, ev) for ev in cal.walk("VEVENT") if ev.get("X-SYNCSVC-CALL")]
        return out

    def events(self) -> list[tuple[str, str, str]]:
        return [
            (str(ev["UID"]), str(ev["X-SYNCSVC-CALL"]), str(ev.get("DESCRIPTION", "")))
            for _, ev in self._vevents()
        ]

    def write_note(self, uid: str, text: str) -> None:
        path = self.folder / f"{uid}.ics"
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        ev = next(iter(cal.walk("VEVENT")))
        ev["DESCRIPTION"] = str(ev.get("DESCRIPTION")) + "\n" + text
        tmp = path.with_name(f".phone-{uid}.tmp")
        tmp.write_bytes(cal.to_ical())
        os.replace(tmp, path)  # as khal/vdirsyncer do: atomically


class CaldavBackend(Backend):
    name = "caldav"
    PASSWORD_ENV = "SYNCSVC_CRASH_CALDAV_PASSWORD"

    def __init__(self, server: Any, calendar_name: str) -> None:
        import caldav

        from tests.radicale_server import PASSWORD, USER

        self.server = server
        self.password = PASSWORD
        self.user = USER
        client = caldav.DAVClient(url=server.url, username=USER, password=PASSWORD)
        principal = client.principal()
        self.cal = principal.make_calendar(name=calendar_name, cal_id=calendar_name)
        self.collection_url = str(self.cal.url)

    def calendar_config(self, data_dir: Path) -> dict[str, Any]:
        return {
            "backend": "caldav",
            "url": self.server.url,
            "username": self.user,
            "calendar": self.collection_url,
            "password_env": self.PASSWORD_ENV,
            "timeout_seconds": 10,
        }

    def env(self) -> dict[str, str]:
        return {self.PASSWORD_ENV: self.password}

    def events(self) -> list[tuple[str, str, str]]:
        out = []
        for obj in self.cal.events():
            cal = icalendar.Calendar.from_ical(obj.data)
            for ev in cal.walk("VEVENT"):
                if ev.get("X-SYNCSVC-CALL"):
                    out.append(
                        (str(ev["UID"]), str(ev["X-SYNCSVC-CALL"]), str(ev.get("DESCRIPTION")))
                    )
        return out

    def write_note(self, uid: str, text: str) -> None:
        obj = self.cal.object_by_uid(uid)
        cal = icalendar.Calendar.from_ical(obj.data)
        ev = next(iter(cal.walk("VEVENT")))
        desc = str(ev.get("DESCRIPTION"))
        ev.pop("DESCRIPTION", None)
        ev.add("DESCRIPTION", desc + "\n" + text)
        obj.data = cal.to_ical().decode()
        obj.save()


class GoogleBackend(Backend):
    name = "google"

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.endpoint = fake.calendar_endpoint

    def calendar_config(self, data_dir: Path) -> dict[str, Any]:
        # signed in as `syncsvc auth google` leaves it: the launcher uses production credentials
        if not (data_dir / "google-token.json").exists():
            self.fake.write_token_file(data_dir / "google-token.json")
        return {"backend": "google", "timeout_seconds": 10}

    def events(self) -> list[tuple[str, str, str]]:
        out = []
        for ev in self.fake.events():
            private = (ev.get("extendedProperties") or {}).get("private") or {}
            if private.get("syncsvcUid"):
                out.append(
                    (private["syncsvcUid"], private["syncsvcCall"], ev.get("description", ""))
                )
        return out

    def write_note(self, uid: str, text: str) -> None:
        from syncsvc.calendars.google import event_id

        self.fake.ui_write_notes(event_id(uid), text)


# --------------------------------------------------------------------------- the harness
@dataclass
class Tally:
    rounds: int = 0
    kills: int = 0  # processes that died of SIGKILL
    by_mode: Counter[str] = field(default_factory=Counter)  # "plan/time", "sync/create.after"
    completed: int = 0  # rounds whose process finished before any kill
    notes: int = 0

    def line(self, backend: str) -> str:
        modes = ", ".join(f"{k}={v}" for k, v in sorted(self.by_mode.items()))
        return (
            f"{backend}: {self.kills} kills in {self.rounds} rounds "
            f"({self.completed} ran to completion), {self.notes} notes; {modes}"
        )


def first_monday_after(day: date, days: int) -> date:
    d = day + timedelta(days=days)
    return d + timedelta(days=(7 - d.weekday()) % 7)


class CrashHarness:
    def __init__(
        self,
        backend: Backend,
        root: Path,
        *,
        seed: int,
        per_day: int = 3,
        people: int = 150,
        max_days: int = 30,
        focus: str | None = None,
    ) -> None:
        self.backend = backend
        self.root = root
        self.rng = random.Random(seed)
        self.seed = seed
        self.per_day = per_day
        self.people = people
        self.max_days = max_days
        self.data_dir = root / "data"
        self.config_path = root / "config.toml"
        self.first_day = first_monday_after(date.today(), 7)
        self.days_asked = 0
        self.notes: dict[str, int] = {}  # call_id -> note number
        self.tally = Tally()
        self.durations: dict[str, float] = {"plan": 1.0, "sync": 1.0, "run": 1.5}
        self.log = root / "harness.log"
        self._topic = 0
        # focus="create.after": every round plans one more day and is killed (with high
        # probability) right after a remote create, before the local commit
        self.focus = focus

    # ---------------------------------------------------------------- processes
    def write_config(self) -> None:
        cal = self.backend.calendar_config(self.data_dir)
        lines = [
            f'data_dir = "{self.data_dir}"',
            "[calls]",
            f"per_day = {self.per_day}",
            'timezone = "Europe/Berlin"',
            "[calendar]",
            *(f"{k} = {json.dumps(v)}" for k, v in cal.items()),
            "[sync]",
            "poll_minutes = 1",
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def argv(self, *commands: list[str]) -> list[str]:
        argv = [sys.executable, "-m", "tests.google_launcher", self.backend.endpoint]
        for command in commands:
            argv += ["--", "--config", str(self.config_path), *command]
        return argv

    def env(self, kill: str = "", seed: int = 0) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
        env.update(self.backend.env())
        env["PYTHONPATH"] = str(REPO)
        env["SYNCSVC_TEST_KILL"] = kill
        env["SYNCSVC_TEST_KILL_SEED"] = str(seed)
        env.pop("JOURNAL_STREAM", None)
        return env

    def run_ok(self, *commands: list[str], timeout: float = 120) -> str:
        proc = subprocess.run(
            self.argv(*commands), env=self.env(), cwd=REPO, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if proc.returncode != 0:
            raise AssertionError(
                f"normal run {commands} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc.stdout

    def setup(self) -> None:
        self.write_config()
        vcf = self.root / "people.vcf"
        vcf.write_text(
            "".join(
                f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Crash Person {i:04d}\r\n"
                f"EMAIL:crash{i}@example.org\r\nEND:VCARD\r\n"
                for i in range(self.people)
            )
        )
        self.run_ok(["import", str(vcf)], ["topic", "grid storage"])

    # ---------------------------------------------------------------- one round
    def round(self) -> None:
        """One command, killed (or not) at a random time or an injected point, then the
        normal run and the checks."""
        rng = self.rng
        self.tally.rounds += 1
        self.maybe_write_notes()
        what = "plan" if self.focus else rng.choices(["plan", "sync", "run"], weights=[4, 3, 2])[0]
        commands: list[list[str]] = []
        if what == "plan":
            if rng.random() < 0.4:
                self._topic += 1
                commands.append(["topic", f"grid storage, take {self._topic}"])
            step = 1 if self.focus else rng.randint(0, 2)
            self.days_asked = min(self.max_days, max(self.days_asked, 1) + step)
            commands.append(
                ["plan", "--date", self.first_day.isoformat(), "--days", str(self.days_asked)]
            )
        elif what == "sync":
            if rng.random() < 0.3:
                self._topic += 1
                commands.append(["topic", f"grid storage, take {self._topic}"])
            commands.append(["sync"])
        else:
            commands.append(["run"])
        # half at a random time, half at an injected point; the remote-write-before-commit
        # point three times as often as each other one
        mode = "time" if rng.random() < 0.5 else rng.choice([*KILL_POINTS, *["create.after"] * 2])
        probability = rng.choice([0.2, 0.5, 1.0])
        if self.focus:
            mode, probability = self.focus, rng.choice([0.5, 1.0])
        kill_spec = "" if mode == "time" else f"{mode}:{probability}"
        started = time.monotonic()
        proc = subprocess.Popen(
            self.argv(*commands), env=self.env(kill_spec, rng.randrange(1 << 30)), cwd=REPO,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        # a timed kill somewhere in the expected run time; the daemon never ends by itself
        deadline = self.durations[what] * rng.uniform(0.15, 1.1)
        if mode != "time":
            deadline = self.durations[what] * 1.5 + 0.5 if what == "run" else 120
        try:
            _, err = proc.communicate(timeout=deadline)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            if mode != "time":
                mode = "time"
        elapsed = time.monotonic() - started
        rc = proc.returncode
        label = f"{what}/{mode}"
        with self.log.open("a") as f:
            f.write(f"round {self.tally.rounds}: {commands} {label} rc={rc} {elapsed:.2f}s\n")
        if rc == -signal.SIGKILL:
            self.tally.kills += 1
            self.tally.by_mode[label] += 1
        else:
            self.tally.completed += 1
            if rc != 0:
                raise AssertionError(f"{commands} exited {rc} without a kill:\n{err.decode()}")
            if what != "run":
                self.durations[what] = max(0.2, 0.7 * self.durations[what] + 0.3 * elapsed)
        self.check_integrity()
        self.recover()
        self.check()

    def recover(self) -> None:
        started = time.monotonic()
        self.run_ok(
            ["plan", "--date", self.first_day.isoformat(), "--days", str(max(1, self.days_asked))],
            ["sync"],
        )
        took = time.monotonic() - started
        self.durations["plan"] = max(self.durations["plan"], took * 0.6)
        self.durations["sync"] = max(self.durations["sync"], took * 0.5)

    def maybe_write_notes(self) -> None:
        """The person writes notes into one or two events that have none yet."""
        if self.rng.random() < 0.4:
            return
        candidates = sorted(
            (uid, call_id) for uid, call_id, _ in self.backend.events() if call_id not in self.notes
        )
        for uid, call_id in self.rng.sample(candidates, min(len(candidates), 2)):
            n = len(self.notes) + 1
            self.backend.write_note(
                uid, f"done\nref: Ref Person {n} <ref{n}@example.net>\noffer: offer number {n}"
            )
            self.notes[call_id] = n
            self.tally.notes += 1

    # ---------------------------------------------------------------- checks
    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "syncsvc.db", timeout=30)

    def check_integrity(self) -> None:
        conn = self.connect()
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()

    def check(self) -> None:
        conn = self.connect()
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            calls = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, day, outcome FROM calls")}
            per_day = Counter(day for day, _ in calls.values())
            wrong = {d: n for d, n in per_day.items() if n != self.per_day}
            assert not wrong, f"days without exactly {self.per_day} calls: {wrong}"
            events = self.backend.events()
            uids = Counter(uid for uid, _, _ in events)
            dupes = {u: n for u, n in uids.items() if n > 1}
            assert not dupes, f"duplicate events: {dupes}"
            event_calls = {call_id for _, call_id, _ in events}
            assert event_calls == set(calls), (
                f"events without a call: {sorted(event_calls - set(calls))}; "
                f"calls without an event: {sorted(set(calls) - event_calls)}"
            )
            states = Counter(r[0] for r in conn.execute("SELECT state FROM calendar_events"))
            assert set(states) <= {"written"}, states
            for call_id, n in self.notes.items():
                outcome = calls[call_id][1]
                assert outcome == "done", (call_id, outcome)
                refs = conn.execute(
                    "SELECT a.norm FROM referrals r JOIN addresses a ON a.person_id = r.person_id "
                    "AND a.kind = 'email' WHERE r.call_id = ?",
                    (call_id,),
                ).fetchall()
                assert [r[0] for r in refs] == [f"ref{n}@example.net"], (call_id, refs)
                offers = conn.execute(
                    "SELECT text FROM offers WHERE call_id = ?", (call_id,)
                ).fetchall()
                assert [r[0] for r in offers] == [f"offer number {n}"], (call_id, offers)
                people = conn.execute(
                    "SELECT count(DISTINCT person_id) FROM addresses WHERE norm = ?",
                    (f"ref{n}@example.net",),
                ).fetchone()[0]
                assert people == 1, (n, people)
            assert conn.execute("SELECT count(*) FROM referrals").fetchone()[0] == len(self.notes)
            assert conn.execute("SELECT count(*) FROM offers").fetchone()[0] == len(self.notes)
        finally:
            conn.close()

    def run(self, kills: int, max_rounds: int | None = None) -> Tally:
        self.setup()
        self.recover()
        self.check()
        limit = max_rounds or kills * 3
        while self.tally.kills < kills and self.tally.rounds < limit:
            self.round()
        return self.tally
