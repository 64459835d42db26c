"""Hostile and broken input: each gives a clear message and leaves the store unchanged or
correctly partly imported; nothing a contacts file or a note says becomes calendar structure,
escapes the calendar folder, or touches an event syncsvc did not write."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
import unicodedata
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest

from syncsvc.app import App, PersonInput
from syncsvc.calendars.base import CallEvent
from syncsvc.calendars.google import GoogleCalendar, event_id
from syncsvc.calendars.vdir import VdirCalendar
from syncsvc.errors import InputError
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from syncsvc.sync import uid_for
from tests.cli_helper import run_cli
from tests.conftest import BERLIN, add_people
from tests.crash_harness import REPO, CaldavBackend
from tests.google_fake import running
from tests.radicale_server import PASSWORD, USER, RadicaleServer, radicale_fixture

radicale = radicale_fixture("module")
MONDAY = date(2026, 11, 30)
FORBIDDEN_PROPS = ("ATTENDEE", "ORGANIZER", "ATTACH", "RRULE", "URL")


def card(*lines: str) -> bytes:
    return ("BEGIN:VCARD\r\nVERSION:3.0\r\n" + "".join(f"{x}\r\n" for x in lines)
            + "END:VCARD\r\n").encode()  # fmt: skip


def names(app: App) -> list[str]:
    return sorted(p.name for p in people_db.iter_people(app.store.conn))


def snapshot(app: App) -> list[tuple[Any, ...]]:
    conn = app.store.conn
    return [tuple(r) for t in ("people", "addresses", "calls", "source_ids")
            for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")]  # fmt: skip


# --------------------------------------------------------------------------- vCards
def test_truncated_card_is_skipped_with_its_line_the_rest_imports(app: App, tmp_path: Path) -> None:
    path = tmp_path / "t.vcf"
    path.write_bytes(card("FN:Ann Good", "EMAIL:ann@example.org")
                     + b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cut Off\r\nEMAIL:cut@exa")  # fmt: skip
    result = app.import_vcards([path])
    assert result.added == 1
    assert [(s["card"], s["reason"]) for s in result.skipped] == [(2, "truncated: no END:VCARD")]
    assert result.skipped[0]["line"] == 6  # its BEGIN:VCARD
    assert names(app) == ["Ann Good"]


def test_binary_file_is_refused_and_imports_nothing(app: App, tmp_path: Path) -> None:
    good = tmp_path / "good.vcf"
    good.write_bytes(card("FN:Would Be Added", "EMAIL:w@example.org"))
    binary = tmp_path / "photo.vcf"
    binary.write_bytes(random.Random(1).randbytes(200_000))
    add_people(app, 1)
    before = snapshot(app)
    with pytest.raises(InputError) as err:
        app.import_vcards([good, binary])
    assert "photo.vcf" in str(err.value) and "\n" not in str(err.value)
    assert snapshot(app) == before


def test_binary_file_through_the_cli_is_one_line_exit_1(tmp_path: Path) -> None:
    binary = tmp_path / "x.vcf"
    binary.write_bytes(b"\x00\xff\xfe" + random.Random(2).randbytes(50_000))
    result = run_cli(["import", str(binary)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_one_megabyte_single_line(app: App, tmp_path: Path) -> None:
    path = tmp_path / "long.vcf"
    path.write_bytes(card("FN:Long Note", "EMAIL:long@example.org", "NOTE:" + "x" * 1_000_000)
                     + card("FN:After Long", "EMAIL:after@example.org"))  # fmt: skip
    started = time.monotonic()
    result = app.import_vcards([path])
    assert result.added == 2, result.skipped
    assert time.monotonic() - started < 20
    app.plan(MONDAY)  # the long note does not break the event either


def test_deep_nesting_is_bounded(app: App, tmp_path: Path) -> None:
    depth = 20_000
    data = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Outer\r\n" * depth
            + b"EMAIL:deep@example.org\r\n" + b"END:VCARD\r\n" * depth
            + card("FN:Next One", "EMAIL:next@example.org"))  # fmt: skip
    path = tmp_path / "deep.vcf"
    path.write_bytes(data)
    started = time.monotonic()
    result = app.import_vcards([path])
    assert time.monotonic() - started < 30
    assert "Next One" in names(app)
    assert result.added >= 1


def test_invalid_utf8_in_a_name(app: App, tmp_path: Path) -> None:
    path = tmp_path / "bad.vcf"
    bad = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bj\xf6rn \xc3(\xff Broken\r\n"
    bad += b"EMAIL:bjorn@example.org\r\nEND:VCARD\r\n"
    path.write_bytes(bad + card("FN:Clean Person", "EMAIL:clean@example.org"))
    result = app.import_vcards([path])
    assert (result.added, result.skipped) == (2, [])
    # not UTF-8, so the line is read as Windows-1252: every byte kept, nothing replaced
    assert sorted(names(app)) == ["Bj\u00f6rn \u00c3(\u00ff Broken", "Clean Person"]


@pytest.mark.parametrize("tail", [b"", b"\r\n", b"\r\nEND:VCARD\r\n"])
def test_qp_soft_break_at_end_of_file(app: App, tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "qp.vcf"
    path.write_bytes(card("FN:Before", "EMAIL:before@example.org")
                     + b"BEGIN:VCARD\r\nVERSION:2.1\r\nEMAIL:qp@example.org\r\n"
                     b"FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Jos=C3=A9 Sof="
                     + tail)  # fmt: skip
    result = app.import_vcards([path])
    assert "Before" in names(app)
    if tail.endswith(b"END:VCARD\r\n"):
        assert result.added == 2 and any(n.startswith("José Sof") for n in names(app))
    else:
        assert [s["reason"] for s in result.skipped] == ["truncated: no END:VCARD"]


def test_a_card_with_ten_thousand_emails(app: App, tmp_path: Path) -> None:
    path = tmp_path / "many.vcf"
    path.write_bytes(card("FN:Many Mails", *(f"EMAIL:m{i}@example.org" for i in range(10_000))))
    started = time.monotonic()
    result = app.import_vcards([path])
    assert result.added == 1
    planned = app.plan(MONDAY)
    assert time.monotonic() - started < 60
    assert len(planned) == 1
    ics = next(app.config.calendar_path.glob("*.ics")).read_bytes()
    assert len(ics) < 2_000_000  # bounded by the 10,000 addresses, not more


BIDI_NAME = "Eve \u202eliam\u202c \u2066x\u2069 \x07\x1b[31mRed\x00 \u2028Sep"


def test_control_chars_and_bidi_overrides_never_reach_summary(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    app = make_app(calls={"per_day": 1})
    path = tmp_path / "bidi.vcf"
    path.write_bytes(card(f"FN:{BIDI_NAME}", "EMAIL:eve@example.org"))
    app.import_vcards([path])
    (call,) = app.plan(MONDAY)
    raw = (app.config.calendar_path / f"{uid_for(call.id)}.ics").read_bytes().decode()
    ev = next(iter(icalendar.Calendar.from_ical(raw).walk("VEVENT")))
    for text in (str(ev["SUMMARY"]), str(ev["DESCRIPTION"])):
        bad = [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl")]
        assert not bad, (text, bad)
    assert str(ev["SUMMARY"]).startswith("Call Eve")


# --------------------------------------------------------------------------- big files
def _rss_of_import(tmp_path: Path, vcf: Path) -> tuple[int, float, str]:
    """Import ``vcf`` in a child process; the child's peak RSS in kB (getrusage)."""
    config = tmp_path / "rss.toml"
    config.write_text(f'data_dir = "{tmp_path / "rss-data"}"\n[calls]\ntimezone = "UTC"\n')
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.monotonic() - t,"
        " p.returncode)\n"
        "print(p.stdout + p.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "syncsvc", "--config", str(config),
         "import", "--json", str(vcf)],
        capture_output=True, text=True, cwd=REPO, timeout=1800,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    first, _, rest = proc.stdout.partition("\n")
    rss, seconds, rc = first.split()
    assert rc == "0", proc.stdout + proc.stderr
    return int(rss), float(seconds), rest


def _big_vcf(path: Path, megabytes: int) -> int:
    """Cards with a 40 kB PHOTO each (dropped undecoded) and a 2 kB note."""
    photo = "PHOTO;ENCODING=b;TYPE=JPEG:" + "QUJD" * 10_000
    cards = 0
    with path.open("wb") as f:
        while f.tell() < megabytes << 20:
            f.write(card(f"FN:Big Person {cards}", f"EMAIL:big{cards}@example.org",
                         "NOTE:" + "n" * 2000, photo))  # fmt: skip
            cards += 1
    return cards


def test_a_ten_megabyte_file_is_streamed(tmp_path: Path) -> None:
    small = tmp_path / "small.vcf"
    small_cards = _big_vcf(small, 1)
    base_rss, _, _ = _rss_of_import(tmp_path, small)
    big = tmp_path / "big.vcf"
    cards = _big_vcf(big, 10)
    rss, seconds, out = _rss_of_import(tmp_path, big)
    assert f'"added": {cards - small_cards}' in out, out  # the same store: the first ones stay
    print(f"10 MB import: {cards} cards, {seconds:.1f} s, peak RSS {rss} kB (1 MB: {base_rss} kB)")
    assert rss < base_rss + 40_000, (rss, base_rss)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_hundred_megabyte_file_is_streamed(tmp_path: Path) -> None:
    small = tmp_path / "small.vcf"
    _big_vcf(small, 1)
    base_rss, _, _ = _rss_of_import(tmp_path, small)
    big = tmp_path / "big.vcf"
    cards = _big_vcf(big, 100)
    rss, seconds, out = _rss_of_import(tmp_path, big)
    print(f"100 MB import: {cards} cards, {seconds:.1f} s, peak RSS {rss} kB (1 MB: {base_rss} kB)")
    assert '"added"' in out
    assert rss < base_rss + 60_000, (rss, base_rss)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_hundred_megabyte_single_line_is_bounded(tmp_path: Path) -> None:
    small = tmp_path / "small.vcf"
    _big_vcf(small, 1)
    base_rss, _, _ = _rss_of_import(tmp_path, small)
    big = tmp_path / "line.vcf"
    with big.open("wb") as f:
        f.write(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:One Line\r\nEMAIL:l@example.org\r\nNOTE:")
        for _ in range(100):
            f.write(b"y" * (1 << 20))
        f.write(b"\r\nEND:VCARD\r\n")
    rss, seconds, _ = _rss_of_import(tmp_path, big)
    print(f"100 MB single line: {seconds:.1f} s, peak RSS {rss} kB (1 MB file: {base_rss} kB)")
    assert rss < base_rss + 60_000, (rss, base_rss)


# --------------------------------------------------------------------------- injection
INJECT = "Mallory\r\nATTENDEE;CN=Evil:mailto:evil@example.org\nRRULE:FREQ=DAILY"


# The one RRULE we write: a VTIMEZONE observance's yearly rule (calendars/vtimezone.py)
TZ_RULE = re.compile(r"RRULE:FREQ=YEARLY;BYDAY=-?[1-5](MO|TU|WE|TH|FR|SA|SU);BYMONTH=\d{1,2}")


def _props_of_all_events(folder: Path) -> list[str]:
    out = []
    for path in folder.glob("*.ics"):
        for comp in icalendar.Calendar.from_ical(path.read_bytes()).walk():
            if comp.name not in ("STANDARD", "DAYLIGHT"):  # a VTIMEZONE's observances
                out += list(comp.keys())
        text = path.read_bytes().decode()
        # no content line starts with a forbidden property (unfolded view), but a time zone's
        # rule, exactly as we write it, inside the VTIMEZONE
        unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
        in_timezone = False
        for line in unfolded.split("\r\n"):
            in_timezone = (in_timezone or line == "BEGIN:VTIMEZONE") and line != "END:VTIMEZONE"
            if in_timezone and TZ_RULE.fullmatch(line):
                continue
            assert not line.upper().startswith(FORBIDDEN_PROPS), line
    return out


def test_property_text_in_names_notes_and_topic_never_becomes_a_property(
    make_app: Callable[..., App], tmp_path: Path, clock: Any
) -> None:
    app = make_app(calls={"per_day": 2})
    app.add_person(PersonInput(name=INJECT, emails=["m@example.org"], org=INJECT, note=INJECT))
    app.add_person(PersonInput(name="Plain Person", emails=["p@example.org"],
                               referred_by="m@example.org"))  # fmt: skip
    app.set_topic("ports\nATTENDEE:mailto:topic@example.org")
    planned = app.plan(MONDAY)
    assert len(planned) == 2
    props = _props_of_all_events(app.config.calendar_path)
    assert not set(props) & set(FORBIDDEN_PROPS)
    # the person's own note tries it too; it comes back as text, and the next event that
    # quotes it (the last call's notes) is still only text
    folder = app.config.calendar_path
    target = next(c for c in planned if c.person_name.startswith("Mallory"))
    path = folder / f"{uid_for(target.id)}.ics"
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    ev = next(iter(cal.walk("VEVENT")))
    attack = "\nnever\r\nATTENDEE:mailto:x@example.org\nEND:VEVENT"
    ev["DESCRIPTION"] = str(ev["DESCRIPTION"]) + attack
    path.write_bytes(cal.to_ical())
    clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=BERLIN))
    app.sync()
    got = calls_db.get(app.store.conn, target.id)
    assert got is not None and "ATTENDEE" in got.notes  # kept as the person's text
    app.plan(date(2026, 12, 14), 5)
    props = _props_of_all_events(folder)
    assert not set(props) & set(FORBIDDEN_PROPS)


def test_html_in_a_name_is_not_live_html_in_a_google_description(
    make_app: Callable[..., App],
) -> None:
    evil = '<a href="https://evil.example/">Click me</a><img src=x onerror=alert(1)>'
    with running() as google:
        app = make_app(calls={"per_day": 2}, calendar={"backend": "google"})
        service = google.service("calendar", "v3", config=app.config)
        app._calendar = GoogleCalendar(service, sleep=lambda s: None)
        app.add_person(PersonInput(name=evil, emails=["e@example.org"], org=evil))
        app.add_person(PersonInput(name="Ref Person", emails=["r@example.org"],
                                   referred_by="e@example.org"))  # fmt: skip
        planned = app.plan(MONDAY)
        descriptions = [google.event(event_id(uid_for(c.id)))["description"] for c in planned]
        summaries = [google.event(event_id(uid_for(c.id)))["summary"] for c in planned]
    assert any("evil.example" in d for d in descriptions)  # the text is there ...
    for d in descriptions:
        assert "<a " not in d and "<img" not in d, d  # ... but never as markup
    assert any("Click me" in s for s in summaries)


def test_uids_and_names_with_dot_dot_never_leave_the_vdir_folder(
    app: App, tmp_path: Path, clock: Any
) -> None:
    folder = app.config.calendar_path
    cal = VdirCalendar(folder)
    bad_uids = ["../escape@syncsvc", "..", "a/../../b", "/etc/passwd", "x\x00y", ".hidden",
                "a" * 300, "..\\..\\win"]  # fmt: skip
    start = datetime(2026, 11, 30, 17, 0, tzinfo=BERLIN)
    for uid in bad_uids:
        ev = CallEvent(uid=uid, call_id="c", summary="s", description="d", start=start,
                       end=start.replace(hour=18))  # fmt: skip
        for op in (lambda e=ev: cal.create(e), lambda e=ev: cal.update(e, "1"),
                   lambda u=uid: cal.delete(u, None)):  # fmt: skip
            with pytest.raises(ValueError):
                op()
    # a file in the folder that claims one of our calls under a uid with ../ in it
    add_people(app, 3, prefix="Dots")
    app.add_person(PersonInput(name="../../../../tmp/pwn", emails=["dots@example.org"]))
    planned = app.plan(MONDAY)
    folder.mkdir(exist_ok=True)
    (folder / "planted.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\n"
        "UID:../../outside@syncsvc\r\nDTSTAMP:20261127T000000Z\r\n"
        "DTSTART:20261130T170000Z\r\nDTEND:20261130T172000Z\r\nSUMMARY:planted\r\n"
        f"X-SYNCSVC-CALL:{planned[0].id}\r\nDESCRIPTION:done\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    before_outside = sorted(p for p in tmp_path.rglob("*") if folder not in p.parents)
    clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=BERLIN))
    for _ in range(2):
        app.sync()
        app.plan(date(2026, 12, 1), 2)
        app.set_topic(f"dots {uuid.uuid4().hex}")
        app.sync()
    after_outside = sorted(p for p in tmp_path.rglob("*") if folder not in p.parents)
    new = set(after_outside) - set(before_outside)
    assert all(p.parent == app.config.data_dir or p.parent == tmp_path / "data" for p in new), new
    assert not (tmp_path / "outside@syncsvc.ics").exists()
    assert not Path("/tmp/pwn.ics").exists()
    assert all(p.parent == folder for p in folder.rglob("*"))
    assert (folder / "planted.ics").exists()  # not ours to delete


def test_a_one_megabyte_note(app: App, clock: Any) -> None:
    add_people(app, 3)
    planned = app.plan(MONDAY)
    path = app.config.calendar_path / f"{uid_for(planned[0].id)}.ics"
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    ev = next(iter(cal.walk("VEVENT")))
    big = "done\n" + ("word " * 20 + "\n") * 10_000  # ~1 MB
    ev["DESCRIPTION"] = str(ev["DESCRIPTION"]) + big
    path.write_bytes(cal.to_ical())
    clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=BERLIN))
    started = time.monotonic()
    report = app.sync()
    assert time.monotonic() - started < 30
    assert report.applied == [planned[0].id]
    got = calls_db.get(app.store.conn, planned[0].id)
    assert got is not None and got.outcome == "done"
    # the next call with this person quotes the note, cut to a bounded size
    app.plan(date(2026, 12, 1), 3)
    sizes = [p.stat().st_size for p in app.config.calendar_path.glob("*.ics") if p != path]
    assert max(sizes) < 50_000, sizes
    assert app.sync().applied == []  # read once, never again


# --------------------------------------------------------------------------- foreign events
FOREIGN = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//phone//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20261127T000000Z\r\nDTSTART:20261130T170000Z\r\n"
    "DTEND:20261130T180000Z\r\nSUMMARY:Dentist\r\n"
    "DESCRIPTION:--- notes (write below this line) ---\\ndone\\nref: X <x@example.org>\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_foreign_events_in_the_vdir_folder_are_never_touched(app: App, clock: Any) -> None:
    folder = app.config.calendar_path
    folder.mkdir(parents=True)
    files = {
        "dentist.ics": FOREIGN.format(uid="dentist-1"),
        # named like one of ours, with our suffix, but without X-SYNCSVC-CALL
        "lookalike@syncsvc.ics": FOREIGN.format(uid="lookalike@syncsvc"),
        "broken.ics": "BEGIN:VCALENDAR\r\nthis is not ical",
        "notes.txt": "not a calendar file",
    }
    for name, text in files.items():
        (folder / name).write_bytes(text.encode())
    stats = {n: (folder / n).stat() for n in files}
    add_people(app, 6)
    app.plan(MONDAY, 3)
    clock.set(datetime(2026, 12, 2, 20, 0, tzinfo=BERLIN))
    app.set_topic("new topic")
    app.sync()
    app.plan(date(2026, 12, 3), 2)
    for name, text in files.items():
        st = (folder / name).stat()
        assert (folder / name).read_bytes() == text.encode()
        assert (st.st_mtime_ns, st.st_ino) == (stats[name].st_mtime_ns, stats[name].st_ino)
    assert app.store.conn.execute("SELECT count(*) FROM referrals").fetchone()[0] == 0


def test_foreign_events_in_a_caldav_calendar_are_never_touched(
    make_app: Callable[..., App], radicale: RadicaleServer, monkeypatch: pytest.MonkeyPatch,
    clock: Any,
) -> None:  # fmt: skip
    backend = CaldavBackend(radicale, f"foreign-{uuid.uuid4().hex[:8]}")
    mine = backend.cal.add_event(FOREIGN.format(uid="dentist-2"))
    lookalike = backend.cal.add_event(FOREIGN.format(uid="lookalike-2@syncsvc"))
    before = {str(o.url): o.data for o in backend.cal.events()}
    monkeypatch.setenv("HOSTILE_PW", PASSWORD)
    app = make_app(
        calls={"per_day": 2},
        calendar={
            "backend": "caldav",
            "url": radicale.url,
            "username": USER,
            "calendar": backend.collection_url,
            "password_env": "HOSTILE_PW",
            "timeout_seconds": 5,
        },
    )
    add_people(app, 6)
    app.plan(MONDAY, 2)
    clock.set(datetime(2026, 12, 1, 20, 0, tzinfo=BERLIN))
    app.set_topic("another topic")
    app.sync()
    app.plan(date(2026, 12, 2), 2)
    after = {str(o.url): o.data for o in backend.cal.events()}
    for url in (str(mine.url), str(lookalike.url)):
        assert after[url] == before[url]
    calls = app.store.conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    assert len(after) == 2 + calls


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[calls]\nper_day = 4\n", ["per_day", "1", "3"]),
        ('[calls]\nper_day = "3"\n', ["per_day"]),
        ('[calls]\ntimezone = "Mars/Olympus_Mons"\n', ["timezone", "Mars/Olympus_Mons"]),
        ('[calls]\nwindow = "19:00-17:00"\n', ["window"]),
        ("[calls]\nperday = 2\n", ["perday", "did you mean 'per_day'"]),
        ("[calender]\nbackend = 'vdir'\n", ["calender", "did you mean 'calendar'"]),
        ('[calendar]\nbackend = "outlook"\n', ["backend", "vdir"]),
        ("[sync]\npoll_minutes = -5\n", ["poll_minutes"]),
        ("calls = 3\n", ["calls"]),
        ("[calls\nper_day = 1\n", ["not valid TOML"]),
    ],
)
def test_bad_config_is_one_clear_message_exit_78(
    tmp_path: Path, toml: str, expected: list[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    result = run_cli(["--config", str(path), "plan", "--dry-run"])
    assert result.exit_code == 78, result.output
    assert "Traceback" not in result.output
    err = result.stderr
    assert str(path) in err
    for word in expected:
        assert word in err, err


def test_every_config_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[calls]\nper_day = 4\ntimezone = "No/Where"\nwindow = "19:00-17:00"\n'
                    "colour = 1\n")  # fmt: skip
    result = run_cli(["--config", str(path), "status"])
    assert result.exit_code == 78
    for word in ("per_day", "timezone", "window", "colour"):
        assert word in result.stderr, result.stderr
    assert not (tmp_path / "xdg-data" / "syncsvc" / "syncsvc.db").exists()


def test_google_description_keeps_text_readable(make_app: Callable[..., App]) -> None:
    """What the Google backend writes for an ordinary name with & and < in it."""
    with running() as google:
        app = make_app(calls={"per_day": 1}, calendar={"backend": "google"})
        service = google.service("calendar", "v3", config=app.config)
        app._calendar = GoogleCalendar(service, sleep=lambda s: None)
        app.add_person(PersonInput(name="Tom & Jerry <Co>", emails=["t@example.org"],
                                   org="R&D <Lab>"))  # fmt: skip
        (call,) = app.plan(MONDAY)
        ev = google.event(event_id(uid_for(call.id)))
    assert ev["summary"] == "Call Tom & Jerry <Co>"  # the summary is plain text in Google
    assert "R&D" in ev["description"] or "R&amp;D" in ev["description"]
