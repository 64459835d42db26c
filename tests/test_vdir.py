"""The vdir backend (a folder of .ics files) and the iCalendar text it shares with CalDAV."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar as ICalendar
from icalendar import Event

from syncsvc.calendars import ics
from syncsvc.calendars.base import CallEvent, RemoteEvent
from syncsvc.calendars.vdir import VdirCalendar
from syncsvc.errors import BackendError, ConflictError, NotFoundError
from tests.calendar_contract import (
    AddForeign,
    AddForeignEvent,
    App,
    AppView,
    CalendarContract,
    EditRemote,
    Foreign,
    app_touch_ics,
    app_view_ics,
    foreign_event_ics,
    make_event,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def write_atomically(path: Path, data: bytes) -> None:
    """How khal and vdirsyncer save a file: a temp file, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".edit-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def person_edits(
    folder: Path,
    uid: str,
    description: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    summary: str | None = None,
    delete: bool = False,
) -> None:
    """Change ``{uid}.ics`` the way a calendar app would: parse, change, write it back."""
    path = folder / f"{uid}.ics"
    if delete:
        path.unlink()
        return
    cal = ICalendar.from_ical(path.read_bytes())
    (vevent,) = cal.walk("VEVENT")
    for name, value in (
        ("DESCRIPTION", description),
        ("DTSTART", start),
        ("DTEND", end),
        ("SUMMARY", summary),
    ):
        if value is not None:
            del vevent[name]
            vevent.add(name, value)
    vevent.pop("LAST-MODIFIED", None)
    vevent.add("LAST-MODIFIED", datetime.now(UTC).replace(microsecond=0))
    vevent["SEQUENCE"] = int(vevent.get("SEQUENCE", 0)) + 1
    cal.add_missing_timezones()
    write_atomically(path, cal.to_ical())


def foreign_ics(uid: str, summary: str = "Dentist") -> bytes:
    cal = ICalendar()
    cal.add("prodid", "-//Someone else//EN")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime(2026, 1, 1, tzinfo=UTC))
    event.add("dtstart", datetime(2026, 6, 16, 9, 0, tzinfo=BERLIN))
    event.add("dtend", datetime(2026, 6, 16, 10, 0, tzinfo=BERLIN))
    event.add("summary", summary)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


class TestVdirContract(CalendarContract):
    @pytest.fixture
    def calendar(self, tmp_path: Path) -> VdirCalendar:
        return VdirCalendar(tmp_path / "calendar")

    @pytest.fixture
    def edit_remote(self, calendar: VdirCalendar) -> EditRemote:
        def edit(uid: str, **changes: Any) -> None:
            person_edits(calendar.path, uid, **changes)

        return edit

    @pytest.fixture
    def add_foreign(self, calendar: VdirCalendar) -> AddForeign:
        def add(uid: str) -> None:
            calendar.path.mkdir(parents=True, exist_ok=True)
            (calendar.path / f"{uid}.ics").write_bytes(foreign_ics(uid))

        return add

    @pytest.fixture
    def add_foreign_event(self, calendar: VdirCalendar) -> AddForeignEvent:
        def add(event: Foreign) -> None:
            calendar.path.mkdir(parents=True, exist_ok=True)
            write_atomically(calendar.path / f"{event.uid}.ics", foreign_event_ics(event))

        return add

    @pytest.fixture
    def app(self, calendar: VdirCalendar) -> App:
        return VdirApp(calendar.path)


class VdirApp(App):
    """Thunderbird or khal on the same folder: they rewrite the file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def touch(self, uid: str, location: str | None = None) -> None:
        path = self.folder / f"{uid}.ics"
        write_atomically(path, app_touch_ics(path.read_bytes(), location))

    def view(self, uid: str) -> AppView:
        return app_view_ics((self.folder / f"{uid}.ics").read_bytes())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "calendar"


@pytest.fixture
def cal(folder: Path) -> VdirCalendar:
    return VdirCalendar(folder)


def files_in(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# --- the files themselves ---------------------------------------------------------------


def test_key_names_the_resolved_folder(tmp_path: Path) -> None:
    cal = VdirCalendar(tmp_path / "a" / ".." / "calendar")
    assert cal.key == f"vdir:{(tmp_path / 'calendar').resolve()}"


def test_folder_created_on_first_write_private(folder: Path, cal: VdirCalendar) -> None:
    assert not folder.exists()
    assert cal.changes(None, {}).changed == []
    assert not folder.exists()  # reading does not create it
    cal.create(make_event(1))
    assert folder.is_dir()
    assert folder.stat().st_mode & 0o077 == 0
    assert files_in(folder) == ["call0001.ics"]


def test_file_is_a_complete_icalendar_object(folder: Path, cal: VdirCalendar) -> None:
    event = make_event(1, alarm_minutes=15)
    cal.create(event)
    raw = (folder / "call0001.ics").read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    parsed = ICalendar.from_ical(raw)
    assert str(parsed["PRODID"]) == "-//syncsvc//syncsvc//EN"
    assert str(parsed["VERSION"]) == "2.0"
    vevents = parsed.walk("VEVENT")
    assert len(vevents) == 1
    (vevent,) = vevents
    assert str(vevent["UID"]) == "call0001"
    stamp = vevent.decoded("DTSTAMP")
    assert stamp.utcoffset() == timedelta(0)
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)
    assert vevent["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert vevent["DTEND"].params["TZID"] == "Europe/Berlin"
    assert vevent.decoded("DTSTART") == event.start
    assert vevent.decoded("DTEND") == event.end
    assert [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert str(vevent["SUMMARY"]) == event.summary
    assert vevent.decoded("DESCRIPTION") == event.description
    assert str(vevent["X-SYNCSVC-CALL"]) == event.call_id
    (alarm,) = vevent.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-15)
    assert str(alarm["DESCRIPTION"])
    assert b"TRIGGER:-PT15M" in raw
    assert parsed.errors == [] and vevent.errors == []


def test_no_alarm_when_alarm_minutes_is_zero(folder: Path, cal: VdirCalendar) -> None:
    cal.create(make_event(1, alarm_minutes=0))
    parsed = ICalendar.from_ical((folder / "call0001.ics").read_bytes())
    assert parsed.walk("VALARM") == []


def test_to_ical_is_deterministic_apart_from_dtstamp() -> None:
    event = make_event(1)

    def without_stamp(data: bytes) -> list[bytes]:
        return [line for line in data.split(b"\r\n") if not line.startswith(b"DTSTAMP")]

    assert without_stamp(ics.to_ical(event)) == without_stamp(ics.to_ical(event))


def test_to_ical_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        ics.to_ical(make_event(1, start=datetime(2026, 6, 15, 10, 0)))


@pytest.mark.parametrize(
    ("zone", "day", "offset"),
    [
        (BERLIN, datetime(2026, 3, 29), timedelta(hours=2)),  # spring forward that night
        (BERLIN, datetime(2026, 10, 25), timedelta(hours=1)),  # fall back that night
        (NEW_YORK, datetime(2026, 3, 8), timedelta(hours=-4)),
        (NEW_YORK, datetime(2026, 11, 1), timedelta(hours=-5)),
    ],
)
def test_dst_change_days_keep_local_wall_time(
    folder: Path, cal: VdirCalendar, zone: ZoneInfo, day: datetime, offset: timedelta
) -> None:
    start = day.replace(hour=10, tzinfo=zone)
    event = make_event(1, start=start, end=start + timedelta(minutes=30))
    cal.create(event)
    raw = (folder / "call0001.ics").read_text()
    assert f"DTSTART;TZID={zone.key}:{day:%Y%m%d}T100000" in raw
    assert f"DTEND;TZID={zone.key}:{day:%Y%m%d}T103000" in raw
    (got,) = cal.changes(None, {}).changed
    assert got.start is not None and got.end is not None
    assert got.start.tzinfo == zone
    assert got.start.replace(tzinfo=None) == day.replace(hour=10)
    assert got.end.replace(tzinfo=None) == day.replace(hour=10, minute=30)
    assert got.start.utcoffset() == offset
    assert got.end - got.start == timedelta(minutes=30)


# --- khal reads what we write -----------------------------------------------------------


def khal_executable() -> str | None:
    candidate = Path(sys.executable).parent / "khal"
    if candidate.exists():
        return str(candidate)
    return shutil.which("khal")


def khal_list(tmp_path: Path, folder: Path, local_zone: str, day: str) -> str:
    khal = khal_executable()
    if khal is None:
        pytest.skip("khal is not installed (pip install khal) - cannot check that khal reads it")
    conf = tmp_path / f"khal-{local_zone.replace('/', '_')}.conf"
    conf.write_text(
        f"""[calendars]
[[syncsvc]]
path = {folder}
type = calendar

[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
default_timezone = {local_zone}
local_timezone = {local_zone}

[sqlite]
path = {tmp_path / f"khal-{local_zone.replace('/', '_')}.db"}
"""
    )
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TZ": "UTC",
    }
    proc = subprocess.run(
        [khal, "-c", str(conf), "list", day, day],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_khal_lists_our_events(tmp_path: Path, folder: Path, cal: VdirCalendar) -> None:
    berlin = datetime(2026, 3, 29, 10, 0, tzinfo=BERLIN)
    cal.create(
        make_event(
            1, summary="Call Jürgen Ölmann", start=berlin, end=berlin + timedelta(minutes=30)
        )
    )
    ny = datetime(2026, 3, 8, 10, 0, tzinfo=NEW_YORK)
    cal.create(make_event(2, summary="Call Ana Díaz", start=ny, end=ny + timedelta(minutes=30)))
    ny_fall = datetime(2026, 11, 1, 10, 0, tzinfo=NEW_YORK)
    cal.create(
        make_event(3, summary="Call Bo Li", start=ny_fall, end=ny_fall + timedelta(minutes=30))
    )
    (folder / "foreign.ics").write_bytes(foreign_ics("foreign", summary="Dentist"))

    out = khal_list(tmp_path, folder, "Europe/Berlin", "2026-03-29")
    assert "Call Jürgen Ölmann" in out
    assert "10:00-10:30 Call Jürgen Ölmann" in out

    out = khal_list(tmp_path, folder, "America/New_York", "2026-03-08")
    assert "10:00-10:30 Call Ana Díaz" in out
    out = khal_list(tmp_path, folder, "America/New_York", "2026-11-01")
    assert "10:00-10:30 Call Bo Li" in out
    # seen from Berlin, the New York call on the day the US springs forward is at 15:00
    out = khal_list(tmp_path, folder, "Europe/Berlin", "2026-03-08")
    assert "15:00-15:30 Call Ana Díaz" in out


# --- uids and paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "uid",
    ["../evil", "a/b", "../../etc/passwd", "", ".hidden", "-x", "a\\b", "a b", "ü", "x" * 201],
)
def test_bad_uids_are_rejected_and_nothing_escapes(
    tmp_path: Path, folder: Path, cal: VdirCalendar, uid: str
) -> None:
    event = make_event(1, uid=uid)
    with pytest.raises(ValueError):
        cal.create(event)
    with pytest.raises(ValueError):
        cal.update(event, "1-2-3")
    with pytest.raises(ValueError):
        cal.delete(uid, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_uid_with_at_and_dots_is_fine(folder: Path, cal: VdirCalendar) -> None:
    event = make_event(1, uid="2026-06-16.c1@syncsvc")
    etag = cal.create(event)
    assert files_in(folder) == ["2026-06-16.c1@syncsvc.ics"]
    (got,) = cal.changes(None, {}).changed
    assert (got.uid, got.etag) == (event.uid, etag)


# --- create / update / delete specifics -------------------------------------------------


def test_create_keeps_an_existing_file(folder: Path, cal: VdirCalendar) -> None:
    event = make_event(1)
    etag = cal.create(event)
    before = (folder / "call0001.ics").read_bytes()
    assert cal.create(dataclasses.replace(event, description="other")) == etag
    assert (folder / "call0001.ics").read_bytes() == before


def test_update_of_missing_file_is_not_found(cal: VdirCalendar) -> None:
    event = make_event(1)
    etag = cal.create(event)
    cal.delete(event.uid, etag)
    with pytest.raises(NotFoundError):
        cal.update(event, etag)


def test_update_after_an_in_place_edit_conflicts(folder: Path, cal: VdirCalendar) -> None:
    event = make_event(1)
    etag = cal.create(event)
    path = folder / "call0001.ics"
    data = path.read_bytes().replace(b"\r\nEND:VEVENT", b"done\r\nEND:VEVENT")
    with open(path, "r+b") as f:  # an editor that writes in place (same inode)
        f.write(data)
    with pytest.raises(ConflictError):
        cal.update(event, etag)
    assert path.read_bytes() == data


def test_delete_with_stale_etag_conflicts(cal: VdirCalendar, folder: Path) -> None:
    event = make_event(1)
    etag = cal.create(event)
    person_edits(folder, event.uid, description="my notes")
    with pytest.raises(ConflictError):
        cal.delete(event.uid, etag)
    assert files_in(folder) == ["call0001.ics"]


def test_foreign_files_are_untouched_and_not_returned(folder: Path, cal: VdirCalendar) -> None:
    folder.mkdir()
    foreign = folder / "dentist.ics"
    foreign.write_bytes(foreign_ics("dentist"))
    junk = folder / "junk.ics"
    junk.write_bytes(b"\x00\xff not a calendar at all")
    os.utime(foreign, ns=(1_000_000_000, 1_000_000_000))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (foreign, junk)}

    event = make_event(1)
    etag = cal.create(event)
    assert [e.uid for e in cal.changes(None, {}).changed] == [event.uid]
    with pytest.raises(ConflictError):
        cal.delete("dentist", None)  # not ours: refused, not removed
    with pytest.raises(ConflictError):
        cal.update(make_event(1, uid="dentist"), "0-0-0")
    assert cal.create(make_event(1, uid="dentist")) == before_etag(foreign)
    cal.update(dataclasses.replace(event, summary="Call Changed"), etag)
    cal.delete(event.uid, None)

    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (foreign, junk)}
    assert after == before
    assert files_in(folder) == ["dentist.ics", "junk.ics"]


def before_etag(path: Path) -> str:
    st = path.stat()
    return f"{st.st_mtime_ns}-{st.st_size}-{st.st_ino}"


def test_changes_on_missing_folder(folder: Path, cal: VdirCalendar) -> None:
    assert cal.changes(None, {}) == cal.changes(None, {})
    assert cal.changes(None, {}).changed == []
    with pytest.raises(NotFoundError):  # not "everything was deleted"
        cal.changes(None, {"call0001": "1-2-3"})


def test_a_known_file_that_does_not_parse_now_is_neither_changed_nor_deleted(
    folder: Path, cal: VdirCalendar
) -> None:
    event = make_event(1)
    etag = cal.create(event)
    write_atomically(folder / "call0001.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEV")  # mid-write
    changes = cal.changes(None, {event.uid: etag})
    assert changes.changed == [] and changes.deleted == []


def test_our_event_under_another_file_name_is_still_found(folder: Path, cal: VdirCalendar) -> None:
    event = make_event(1)
    etag = cal.create(event)
    os.rename(folder / "call0001.ics", folder / "renamed-by-some-tool.ics")
    changes = cal.changes(None, {event.uid: etag})
    assert [e.uid for e in changes.changed] == [event.uid]
    assert changes.deleted == []


def test_a_copy_of_our_event_does_not_shadow_the_real_file(folder: Path, cal: VdirCalendar) -> None:
    event = make_event(1)
    etag = cal.create(event)
    (folder / "copy.ics").write_bytes((folder / "call0001.ics").read_bytes())
    known = {event.uid: etag}
    for _ in range(3):  # stable: the copy is never reported while call0001.ics is there
        changes = cal.changes(None, known)
        assert changes.changed == [] and changes.deleted == []
    full = cal.changes(None, {})
    assert [(e.uid, e.etag) for e in full.changed] == [(event.uid, etag)]


def test_unchanged_events_are_not_parsed(
    folder: Path, cal: VdirCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(100):
        cal.create(make_event(n))
    calls: list[str] = []
    real = ics.from_ical

    def counting(data: bytes | str, etag: str) -> RemoteEvent | None:
        calls.append(etag)
        return real(data, etag)

    monkeypatch.setattr(ics, "from_ical", counting)
    first = cal.changes(None, {})
    assert len(first.changed) == 100
    assert len(calls) == 100

    calls.clear()
    opened: list[Any] = []
    real_read = VdirCalendar._read
    monkeypatch.setattr(
        VdirCalendar, "_read", staticmethod(lambda p: opened.append(p) or real_read(p))
    )
    known = {e.uid: e.etag for e in first.changed}
    second = cal.changes(first.token, known)
    assert second.changed == [] and second.deleted == []
    assert calls == []
    assert opened == []

    person_edits(folder, "call0042", description="done")
    third = cal.changes(second.token, known)
    assert [e.uid for e in third.changed] == ["call0042"]
    assert len(calls) == 1 and len(opened) == 1


# --- atomic writes ----------------------------------------------------------------------


def test_writes_leave_no_temp_files(folder: Path, cal: VdirCalendar) -> None:
    etags = {}
    for n in range(5):
        etags[n] = cal.create(make_event(n))
    for n in range(5):
        etags[n] = cal.update(make_event(n, summary=f"Call Updated {n}"), etags[n])
    cal.delete(make_event(0).uid, etags[0])
    assert files_in(folder) == [f"call{n:04d}.ics" for n in range(1, 5)]


def test_failed_write_keeps_the_old_file_and_no_temp_file(
    folder: Path, cal: VdirCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = make_event(1)
    etag = cal.create(event)
    before = (folder / "call0001.ics").read_bytes()

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(BackendError):
        cal.update(dataclasses.replace(event, summary="Call New"), etag)
    assert (folder / "call0001.ics").read_bytes() == before
    assert files_in(folder) == ["call0001.ics"]


def test_create_race_keeps_the_file_that_won(
    folder: Path, cal: VdirCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another syncsvc process wrote the file between our check and our write."""
    event = make_event(1)
    other = VdirCalendar(folder)
    real_etag = VdirCalendar._etag
    state = {"first": True}

    def etag_then_race(target: Path) -> str | None:
        if state["first"]:
            state["first"] = False
            result = real_etag(target)
            other.create(dataclasses.replace(event, summary="Call The Winner"))
            return result
        return real_etag(target)

    monkeypatch.setattr(VdirCalendar, "_etag", staticmethod(etag_then_race))
    etag = cal.create(event)
    (got,) = cal.changes(None, {}).changed
    assert got.summary == "Call The Winner"
    assert got.etag == etag
    assert files_in(folder) == ["call0001.ics"]


# --- reading what calendar apps make of our events (ics.from_ical) -----------------------


def vcalendar(*lines: str) -> str:
    body = "\r\n".join(lines)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n{body}\r\nEND:VCALENDAR\r\n"


def vevent(*lines: str, call: str | None = "c1") -> str:
    extra = [f"X-SYNCSVC-CALL:{call}"] if call is not None else []
    return "\r\n".join(
        ["BEGIN:VEVENT", "UID:u1", "DTSTAMP:20260101T000000Z", *extra, *lines, "END:VEVENT"]
    )


@pytest.mark.parametrize(
    ("lines", "start", "end"),
    [
        (
            ["DTSTART:20260329T080000Z", "DTEND:20260329T083000Z"],
            datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
            datetime(2026, 3, 29, 8, 30, tzinfo=UTC),
        ),
        (
            ["DTSTART:20260329T080000", "DTEND:20260329T083000"],  # floating: taken as UTC
            datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
            datetime(2026, 3, 29, 8, 30, tzinfo=UTC),
        ),
        (
            ["DTSTART;TZID=America/New_York:20260308T100000", "DURATION:PT45M"],
            datetime(2026, 3, 8, 10, 0, tzinfo=NEW_YORK),
            datetime(2026, 3, 8, 10, 45, tzinfo=NEW_YORK),
        ),
        (
            ["DTSTART;TZID=W. Europe Standard Time:20260329T100000"],  # Outlook's name
            datetime(2026, 3, 29, 10, 0, tzinfo=BERLIN),
            None,
        ),
        (
            ["DTSTART;TZID=Nowhere/Zone:20260329T100000"],  # unresolvable: UTC
            datetime(2026, 3, 29, 10, 0, tzinfo=UTC),
            None,
        ),
        (
            ["DTSTART;VALUE=DATE:20260329"],  # all day: midnight UTC, one day long
            datetime(2026, 3, 29, tzinfo=UTC),
            datetime(2026, 3, 30, tzinfo=UTC),
        ),
        (
            ["DTSTART;VALUE=DATE:20260329", "DTEND;VALUE=DATE:20260331"],
            datetime(2026, 3, 29, tzinfo=UTC),
            datetime(2026, 3, 31, tzinfo=UTC),
        ),
        (["DTSTART:garbage"], None, None),
        ([], None, None),
    ],
)
def test_from_ical_times(lines: list[str], start: datetime | None, end: datetime | None) -> None:
    got = ics.from_ical(vcalendar(vevent(*lines)), "e")
    assert got is not None
    assert got.start == start
    assert got.end == end
    for value in (got.start, got.end):
        assert value is None or value.utcoffset() is not None
    if start is not None and got.start is not None:
        assert got.start.utcoffset() == start.utcoffset()


def test_from_ical_with_a_custom_vtimezone() -> None:
    custom = "\r\n".join(
        [
            "BEGIN:VTIMEZONE",
            "TZID:My Office",
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            "TZOFFSETFROM:+0300",
            "TZOFFSETTO:+0300",
            "END:STANDARD",
            "END:VTIMEZONE",
        ]
    )
    got = ics.from_ical(vcalendar(custom, vevent("DTSTART;TZID=My Office:20260329T100000")), "e")
    assert got is not None and got.start is not None
    assert got.start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        "",
        b"\x00\xff\xfe garbage",
        "not ical at all",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u1",  # truncated
        vcalendar(vevent("DTSTART:20260329T080000Z", call=None)),  # not ours
        vcalendar("BEGIN:VTODO", "UID:u1", "X-SYNCSVC-CALL:c1", "END:VTODO"),
        vcalendar(vevent("DTSTART:20260329T080000Z", call="")),
    ],
)
def test_from_ical_returns_none_for_garbage_and_foreign(data: bytes | str) -> None:
    assert ics.from_ical(data, "e") is None


def test_from_ical_reads_text_fields_and_accepts_str_and_bytes() -> None:
    text = vcalendar(
        vevent(
            "SUMMARY:✓ Call Zoë",
            "DESCRIPTION:line one\\nline\\; two\\, three\\\\",
            "DTSTART:20260329T080000Z",
        )
    )
    for data in (text, text.encode()):
        got = ics.from_ical(data, "etag-1")
        assert got == RemoteEvent(
            uid="u1",
            call_id="c1",
            etag="etag-1",
            summary="✓ Call Zoë",
            description="line one\nline; two, three\\",
            start=datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
            end=None,
        )


def test_from_ical_missing_description_is_empty() -> None:
    got = ics.from_ical(vcalendar(vevent("DTSTART:20260329T080000Z")), "e")
    assert got is not None and got.description == "" and got.summary == ""


def test_from_ical_prefers_the_master_of_a_recurring_event() -> None:
    data = vcalendar(
        vevent("RECURRENCE-ID:20260405T080000Z", "SUMMARY:override", "DTSTART:20260405T090000Z"),
        vevent("SUMMARY:master", "DTSTART:20260329T080000Z", "RRULE:FREQ=WEEKLY"),
    )
    got = ics.from_ical(data, "e")
    assert got is not None and got.summary == "master"


def test_from_ical_bare_vevent_and_two_calendars_in_one_file() -> None:
    bare = vevent("DTSTART:20260329T080000Z")
    assert ics.from_ical(bare, "e") is not None
    two = vcalendar(vevent("DTSTART:20260329T080000Z", call=None)) + vcalendar(
        vevent("DTSTART:20260329T080000Z", call="c9")
    )
    got = ics.from_ical(two, "e")
    assert got is not None and got.call_id == "c9"


def test_call_id_with_special_characters_round_trips() -> None:
    event = make_event(1, call_id="c,1;x\nATTENDEE:mailto:x@y\\")
    raw = ics.to_ical(event)
    got = ics.from_ical(raw, "e")
    assert got is not None and got.call_id == event.call_id
    assert b"\r\nATTENDEE" not in raw


def test_round_trip_preserves_everything_we_write() -> None:
    event: CallEvent = make_event(5, summary="Call A; B, C \\ D", description="x\n\n;,\\\n")
    got = ics.from_ical(ics.to_ical(event), "e")
    assert got == RemoteEvent(
        uid=event.uid,
        call_id=event.call_id,
        etag="e",
        summary=event.summary,
        description=event.description,
        start=event.start,
        end=event.end,
    )


def test_same_size_same_mtime_rewrite_still_changes_the_etag(
    folder: Path, cal: VdirCalendar
) -> None:
    """Timestamps are only as fine as the kernel's tick: an app's atomic rewrite of the same
    size within one tick must still be seen (the etag includes the inode)."""
    event = make_event(1)
    etag = cal.create(event)
    path = folder / "call0001.ics"
    st = path.stat()
    raw = path.read_bytes()
    moved = raw.replace(
        b"DTSTART;TZID=Europe/Berlin:20260616T100000", b"DTSTART;TZID=Europe/Berlin:20260616T090000"
    )
    assert moved != raw and len(moved) == len(raw)
    write_atomically(path, moved)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    with pytest.raises(ConflictError):
        cal.update(event, etag)
    (got,) = cal.changes(None, {event.uid: etag}).changed
    assert got.start == event.start - timedelta(hours=1)


def test_a_symlink_out_of_the_folder_is_refused(
    tmp_path: Path, folder: Path, cal: VdirCalendar
) -> None:
    event = make_event(1)
    cal.create(make_event(2))
    outside = tmp_path / "outside.ics"
    outside.write_bytes(b"precious")
    (folder / "call0001.ics").symlink_to(outside)
    with pytest.raises(ValueError):
        cal.update(event, "0-0-0")
    with pytest.raises(ValueError):
        cal.delete(event.uid, None)
    assert outside.read_bytes() == b"precious"


def test_a_temp_file_left_by_a_killed_write_is_removed_once_stale(tmp_path: Path) -> None:
    import os
    import time

    from syncsvc.calendars.vdir import STALE_TEMP_SECONDS, VdirCalendar

    folder = tmp_path / "cal"
    folder.mkdir()
    stale = folder / ".abc-20261127-1@syncsvc.k2j3h4g5.tmp"
    fresh = folder / ".abc-20261127-2@syncsvc.x9y8z7w6.tmp"
    foreign = folder / ".other.tmp"
    for path in (stale, fresh, foreign):
        path.write_text("half an event")
    # both ages set from this process's clock: the kernel's file times need not agree with
    # it (faketime, a clock step), and "fresh" must be fresh by the clock the product reads
    now = time.time()
    old = now - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(fresh, (now, now))
    os.utime(foreign, (old, old))
    VdirCalendar(folder).changes(None, {})
    assert not stale.exists()
    assert fresh.exists(), "a write in progress is left alone"
    assert foreign.exists(), "not ours"
