"""The person's data is safe in a hostile, messy world (issue 14, PRODUCT.md "The person's data
is safe"): vanished or emptied calendar folders, symlinks, FIFOs, huge files, a full disk, a
merge of two people who both had a call that day. Each test failed before its fix.

Nothing here touches a real device node: FIFOs and files live in the test's tmp_path, and a
"/dev/zero" is simulated by a file bigger than the cap (or a FIFO that would never end)."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from syncsvc.app import App
from syncsvc.calendars import vdir
from syncsvc.calendars.vdir import VdirCalendar
from syncsvc.errors import ConfigError, StorageGoneError, StoreError, SyncsvcError
from syncsvc.store import Store, data_dir_lock
from syncsvc.store import calls as calls_db
from syncsvc.store import notes as notes_db
from syncsvc.store import people as people_db
from tests.conftest import add_people
from tests.test_vdir import make_event, person_edits

MONDAY = date(2026, 11, 30)


def outcomes(app: App) -> list[str]:
    return [c.outcome for c in calls_db.history(app.store.conn)]


def planned_and_synced(app: App) -> Path:
    add_people(app, 3)
    app.plan(MONDAY)
    app.sync()
    folder = app.config.calendar_path
    assert len(list(folder.glob("*.ics"))) == 3
    return folder


# --------------------------------------------------------------------- 1. vanished folder
def test_a_vanished_calendar_folder_is_refused_by_plan_and_sync_and_never_recreated(
    app: App,
) -> None:
    folder = planned_and_synced(app)
    shutil.rmtree(folder)  # an unmounted disk
    with pytest.raises(StorageGoneError, match="missing"):
        app.plan(date(2026, 12, 1))
    assert not folder.exists()  # plan did not plant a fresh folder there
    with pytest.raises(StorageGoneError):
        app.sync()
    assert set(outcomes(app)) == {"planned"}  # nothing read as deleted


def test_an_emptied_calendar_folder_is_refused_and_changes_nothing(app: App) -> None:
    folder = planned_and_synced(app)
    for file in folder.glob("*.ics"):
        file.unlink()
    with pytest.raises(StorageGoneError, match="none of the 3"):
        app.plan(date(2026, 12, 1))
    with pytest.raises(StorageGoneError):
        app.sync()
    assert set(outcomes(app)) == {"planned"}
    assert list(folder.glob("*.ics")) == []


def test_all_events_vanishing_at_once_is_refused_on_any_backend(app: App) -> None:
    """The backend-neutral guard in sync.read_back (CalDAV, Google): every known event
    reported deleted in one read."""
    from syncsvc import sync
    from syncsvc.calendars.base import Changes

    planned_and_synced(app)
    real = app.calendar

    class Emptied(VdirCalendar):
        def expect_events(self, known: Any) -> None:  # a server cannot check cheaply
            return None

        def changes(self, token: str | None, known: Any) -> Changes:
            return Changes(deleted=sorted(known))

    emptied = Emptied(real.path)  # type: ignore[attr-defined]
    with pytest.raises(StorageGoneError, match="all 3"):
        sync.read_back(app.store, emptied, app.config, app.now())
    assert set(outcomes(app)) == {"planned"}


def test_the_person_deleting_one_event_is_still_a_skip(app: App) -> None:
    folder = planned_and_synced(app)
    uid = sorted(folder.glob("*.ics"))[0].stem
    person_edits(folder, uid, delete=True)
    app.sync()
    assert sorted(outcomes(app)) == ["planned", "planned", "skipped"]


def test_the_first_plan_creates_the_folder(app: App) -> None:
    add_people(app, 2)
    app.plan(MONDAY)
    assert app.config.calendar_path.is_dir()


# --------------------------------------------------------------------- 2. merge keeps notes
def test_merge_keeps_the_other_persons_call_notes_offers_referrals_and_wins(app: App) -> None:
    keep, other = add_people(app, 2)
    app.plan(MONDAY)
    conn = app.store.conn
    by_person = {c.person_id: c for c in calls_db.on_day(conn, MONDAY)}
    assert set(by_person) == {keep, other}
    with app.store.tx():
        notes_db.apply_notes(
            conn,
            by_person[other],
            notes_db.Notes(
                outcome="done",
                text="Great talk about bees",
                digest="d1",
                referrals=[notes_db.Referral(name="Rita Ref", emails=[("r@x.org", "r@x.org")])],
                offers=["send the bee article"],
                wins=["got the beekeeping job"],
            ),
            app.now(),
        )
    app.merge(str(keep), str(other))
    (call,) = calls_db.on_day(conn, MONDAY)
    assert call.person_id == keep and call.outcome == "done"
    assert "Great talk about bees" in call.notes
    assert [o.text for o in calls_db.offers_open(conn, keep)] == ["send the bee article"]
    wins = conn.execute("SELECT text FROM wins WHERE call_id = ?", (call.id,)).fetchall()
    assert [w[0] for w in wins] == ["got the beekeeping job"]
    refs = conn.execute("SELECT count(*) FROM referrals WHERE call_id = ?", (call.id,))
    assert refs.fetchone()[0] == 1
    assert people_db.get(conn, other) is None


# --------------------------------------------------------------------- 3. symlinks
def test_a_planted_lock_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (data / "lock").symlink_to(victim)
    with pytest.raises(StoreError, match="lock"), data_dir_lock(data, timeout=0.1):
        pass
    assert victim.read_text() == "precious"


def test_someones_file_named_lock_in_the_data_dir_is_not_overwritten(tmp_path: Path) -> None:
    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "lock").write_text("my poem about locks\n")
    with pytest.raises(StoreError, match="not syncsvc's lock"), data_dir_lock(docs, 0.1):
        pass
    assert (docs / "lock").read_text() == "my poem about locks\n"
    with data_dir_lock(tmp_path / "fresh", 0.1):  # our own lock file is taken as before
        pass
    with data_dir_lock(tmp_path / "fresh", 0.1):
        pass


def test_a_symlinked_calendar_folder_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    link = tmp_path / "cal"
    link.symlink_to(real)
    cal = VdirCalendar(link)
    with pytest.raises(SyncsvcError, match="symlink"):
        cal.create(make_event(1))
    with pytest.raises(SyncsvcError, match="symlink"):
        cal.changes(None, {})
    assert list(real.iterdir()) == []


def test_a_symlink_replacing_our_event_is_skipped_not_fatal(app: App, tmp_path: Path) -> None:
    folder = planned_and_synced(app)
    victim = tmp_path / "victim.ics"
    victim.write_text("precious")
    first = sorted(folder.glob("*.ics"))[0]
    first.unlink()
    first.symlink_to(victim)
    app.sync()  # neither ValueError nor a deletion
    app.plan(date(2026, 12, 1))
    assert victim.read_text() == "precious"
    assert "skipped" not in outcomes(app)


# --------------------------------------------------------------------- 4. data dir modes
def test_an_existing_data_dir_keeps_its_mode_and_a_warning_is_logged(
    make_app: Callable[..., App], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    app = make_app(data_dir=str(shared))
    with caplog.at_level(logging.WARNING, logger="syncsvc"):
        add_people(app, 1)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert "can be read by other users" in caplog.text


def test_directories_syncsvc_creates_are_0700_whatever_the_umask(tmp_path: Path) -> None:
    from syncsvc.paths import ensure_private_dir

    old = os.umask(0)
    try:
        ensure_private_dir(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    for part in ("a", "a/b", "a/b/c"):
        assert stat.S_IMODE((tmp_path / part).stat().st_mode) == 0o700, part


def test_an_unwritable_data_dir_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli_helper import run_cli

    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    real_access = os.access
    if os.geteuid() == 0:  # root writes anywhere: simulate what a normal user meets
        monkeypatch.setattr(
            os, "access", lambda p, m: False if Path(p) == locked else real_access(p, m)
        )
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "{locked}"\n')
    try:
        result = run_cli(["--config", str(cfg), "add", "Ann", "--email", "a@x.org"])
    finally:
        locked.chmod(0o700)
    assert result.exit_code == ConfigError.exit_code, result.output
    assert str(locked) in result.stderr and "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------- 5. one bad file
def test_a_fifo_among_the_events_does_not_hang_and_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "cal"
    cal = VdirCalendar(folder)
    etag = cal.create(make_event(1))
    os.mkfifo(folder / "trap.ics")
    busy = tmp_path / "busy"
    busy.mkdir()
    os.mkfifo(busy / "meeting.ics")
    cal.busy_calendars = [busy]
    done = threading.Event()
    result: list[Any] = []

    def run() -> None:
        with caplog.at_level(logging.WARNING, logger="syncsvc"):
            result.append(cal.changes(None, {"call0001": "stale"}))
            result.append(cal.busy(make_event(1).start, make_event(1).end))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(5), "a FIFO hung the read"
    changes, busy_times = result
    assert [e.uid for e in changes.changed] == ["call0001"] and busy_times == []
    assert "trap.ics skipped" in caplog.text and "meeting.ics skipped" in caplog.text
    assert etag


def test_an_oversized_event_file_is_skipped_with_bounded_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(vdir, "MAX_EVENT_BYTES", 4000)
    folder = tmp_path / "cal"
    cal = VdirCalendar(folder)
    cal.create(make_event(1))
    (folder / "huge.ics").write_bytes(b"\0" * 50_000)  # what a /dev/zero symlink would give
    with caplog.at_level(logging.WARNING, logger="syncsvc"):
        changes = cal.changes(None, {})
    assert [e.uid for e in changes.changed] == ["call0001"]
    assert "larger than" in caplog.text


def test_foreign_files_are_parsed_once_per_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncsvc.calendars import ics

    folder = tmp_path / "cal"
    folder.mkdir()
    for n in range(20):
        (folder / f"mine{n}.ics").write_text(
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:m{n}\r\nSUMMARY:lunch\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    cal = VdirCalendar(folder)
    parsed: list[str] = []
    real = ics.from_ical

    def counting(data: bytes | str, etag: str) -> Any:
        parsed.append(etag)
        return real(data, etag)

    monkeypatch.setattr(ics, "from_ical", counting)
    cal.changes(None, {})
    assert len(parsed) == 20
    cal.changes(None, {})
    assert len(parsed) == 20  # not parsed again on the next poll
    (folder / "mine3.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    cal.changes(None, {})
    assert len(parsed) == 21


# --------------------------------------------------------------------- 7. store errors
def test_a_damaged_store_says_so_and_never_advises_starting_afresh(tmp_path: Path) -> None:
    path = tmp_path / "syncsvc.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as err:
        Store.open(path)
    assert "damaged" in str(err.value) and "afresh" not in str(err.value)


def test_a_read_only_store_says_read_only(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "syncsvc.db")
    store.conn.execute("PRAGMA query_only = ON")  # SQLITE_READONLY, as a read-only mount gives
    with pytest.raises(StoreError, match="cannot write the store") as err, store.tx() as conn:
        conn.execute("INSERT INTO topics(text, set_at) VALUES ('x', 'y')")
    assert "writable" in str(err.value) and "afresh" not in str(err.value)
    store.close()


def test_a_full_disk_says_disk_full_not_cannot_rollback(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "syncsvc.db")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # a disk that fills up
    with pytest.raises(StoreError, match="disk is full") as err, store.tx() as conn:
        for n in range(2000):
            conn.execute(
                "INSERT INTO topics(text, set_at) VALUES (?, 'now')", ("x" * 500 + str(n),)
            )
    assert "rollback" not in str(err.value)
    assert not store.conn.in_transaction
    with store.tx():  # the store is usable again
        pass
    store.close()


def test_a_constraint_error_is_not_dressed_up_as_a_storage_problem() -> None:
    store = Store.memory()
    with pytest.raises(sqlite3.IntegrityError), store.tx() as conn:
        conn.execute("INSERT INTO calls(id) VALUES ('x')")


# --------------------------------------------------------------------- 6. size and time
def test_a_card_with_40000_emails_costs_seconds_not_minutes(app: App, tmp_path: Path) -> None:
    import time

    path = tmp_path / "big.vcf"
    emails = "".join(f"EMAIL:u{i}@x.org\r\nEMAIL:U{i}@X.ORG\r\n" for i in range(20_000))
    path.write_text(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big\r\n{emails}END:VCARD\r\n")
    began = time.monotonic()
    result = app.import_vcards([path])
    assert time.monotonic() - began < 5
    assert result.added == 1


def test_a_card_with_very_many_property_lines_costs_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    from syncsvc.contacts.vcard import MAX_CARD_PROPERTIES, read_cards

    path = tmp_path / "huge.vcf"
    with path.open("w") as f:
        f.write("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Huge\r\n")
        f.write("X-JUNK:abcdefgh\r\n" * 120_000)  # 2 MB of property lines
        f.write("EMAIL:late@x.org\r\nEND:VCARD\r\n")
    tracemalloc.start()
    try:
        (card,) = read_cards(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert card.name == "Huge"  # type: ignore[union-attr]
    assert peak < 8 * 1024 * 1024, peak  # was ~57x the size: 110 MB
    assert MAX_CARD_PROPERTIES < 120_000


def test_linkedin_import_of_a_fifo_or_device_is_refused_not_read_forever(
    tmp_path: Path,
) -> None:
    from syncsvc.contacts.linkedin import read_connections
    from syncsvc.errors import InputError

    fifo = tmp_path / "Connections.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        list(read_connections(fifo))


# --------------------------------------------------------------------- export targets
def test_export_into_a_fifo_writes_into_it_and_leaves_the_fifo(app: App, tmp_path: Path) -> None:
    from syncsvc import export

    add_people(app, 2)
    fifo = tmp_path / "out.pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    export.export(app.store.conn, str(fifo), "json")
    reader.join(5)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # not replaced by a regular file
    assert b'"syncsvc-export"' in got[0]


def test_a_killed_exports_temporary_file_is_removed(app: App, tmp_path: Path) -> None:
    from syncsvc import export

    add_people(app, 1)
    target = tmp_path / "people.json"
    leftover = tmp_path / f".people.json.{2**22 + 12345}.tmp"  # no such process
    leftover.write_text("personal data")
    export.export(app.store.conn, str(target), "json")
    assert not leftover.exists() and target.exists()


# --------------------------------------------------------------------- 7. a new store adopts
def test_a_new_store_adopts_the_calendars_events_and_reads_their_notes(
    make_app: Callable[..., App], tmp_path: Path, clock: Any
) -> None:
    calendar = tmp_path / "calendar"
    old = make_app(calendar={"path": str(calendar)})
    add_people(old, 3)
    old.plan(MONDAY)
    old.sync()
    first = sorted(calendar.glob("*.ics"))[0].stem
    clock.advance(days=3, hours=10)  # Monday evening: the calls have happened
    (event,) = VdirCalendar(calendar).changes(None, {}).changed[:1]
    person_edits(calendar, first, description=f"{event.description}\ndone, lovely talk")
    old.close()

    # the store is lost; a new one, the same people imported again, the same calendar
    new = make_app(calendar={"path": str(calendar)}, data_dir=str(tmp_path / "fresh-data"))
    add_people(new, 3)
    new.plan(MONDAY)
    assert len(list(calendar.glob("*.ics"))) == 3  # no second set of calls on the day
    new.sync()
    conn = new.store.conn
    calls = calls_db.on_day(conn, MONDAY)
    assert len(calls) == 3
    assert sorted(c.outcome for c in calls) == ["done", "missed", "missed"]
    assert {people_db.get(conn, c.person_id).name for c in calls} == {  # type: ignore[union-attr]
        "Person 000",
        "Person 001",
        "Person 002",
    }
    assert people_db.count(conn) == 3  # matched by name, nobody added twice
