"""Acceptance tests of issue 13's notes loop (PRODUCT.md, "Completion notes"), on every backend.

Written against the contract before the read-back side landed: where the person's text is
(anywhere in the description, never in a contact's data that looks like the marker), when it
counts (before the call's start: a preparation note), the receipt syncsvc writes back (once,
replaced when the note changes, never over an edit the person made meanwhile, HTML on Google),
one bad note never blocking the others, and what ``sync`` prints per call. The flow harness is
tests/test_flow.py's (``backend``, ``setup``): a :class:`~tests.flow_phones.Phone` per backend
edits the event as the person's app would.

The events-level round trip uses ``events.user_text(description, generated, receipt)``,
``events.receipt_block(lines)`` and ``events.with_receipt(description_text, receipt)``.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncsvc import events
from syncsvc.app import App, PersonInput
from syncsvc.cli import Ctx, cmd_sync
from syncsvc.clock import FixedClock
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from syncsvc.text import description_html, html_to_text
from tests import test_flow as flow
from tests.conftest import BERLIN, add_people
from tests.flow_phones import Phone
from tests.test_flow import Backend

# test_flow's fixtures, used here by name: every backend, and the setup of its flow tests
backend, setup, google, radicale, graph = (
    flow.backend,
    flow.setup,
    flow.google,
    flow.radicale,
    flow.graph,
)

RECEIPT = "--- syncsvc read this ---"
EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN)  # after Friday's calls (17:00-19:00)


# ------------------------------------------------------------------------------ helpers
def call_of(app: App, call_id: str) -> calls_db.Call:
    got = calls_db.get(app.store.conn, call_id)
    assert got is not None
    return got


def receipt_lines(description: str) -> list[str]:
    """The lines of the (one) receipt block, without its first line."""
    lines = [line.strip() for line in description.splitlines()]
    assert lines.count(RECEIPT) == 1, description
    return [line for line in lines[lines.index(RECEIPT) + 1 :] if line]


def replace_line(phone: Phone, call_id: str, old: str, new: str) -> None:
    """The person rewrites one line of theirs in place (the last line that is exactly ``old``)."""
    lines = phone.event(call_id).description.split("\n")
    index = max(i for i, line in enumerate(lines) if line.strip() == old)
    lines[index] = new
    phone.write(call_id, replace_description="\n".join(lines))


def insert_after(phone: Phone, call_id: str, anchor: str, notes: str) -> None:
    """The person types ``notes`` on new lines right after syncsvc's line ``anchor``."""
    lines = phone.event(call_id).description.split("\n")
    index = next(i for i, line in enumerate(lines) if line.strip() == anchor)
    lines[index + 1 : index + 1] = notes.split("\n")
    phone.write(call_id, replace_description="\n".join(lines))


def sync_output(app: App, *, as_json: bool, capsys: pytest.CaptureFixture[str]) -> str:
    """``syncsvc sync [--json]`` on this backend's app (the CLI's own command function)."""
    ctx = Ctx(None, False)
    ctx._app = app
    capsys.readouterr()
    cmd_sync(ctx, argparse.Namespace(json=as_json))
    return capsys.readouterr().out


# ------------------------------------------------------------------------------ where
def test_text_above_the_marker_is_the_note(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    desc = phone.event(call.id).description
    phone.write(call.id, replace_description="no answer\n" + desc)
    clock.set(EVENING)
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "no_answer"
    assert got.notes == "no answer"


def test_text_between_syncsvc_lines_is_the_note(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    insert_after(phone, call.id, "About them:", "done\noffer: send the deck")
    clock.set(EVENING)
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "done"
    assert got.offers == ["send the deck"]
    assert got.notes == "done\noffer: send the deck"


def test_text_with_the_marker_deleted_is_the_note(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    desc = phone.event(call.id).description
    assert events.NOTES_MARKER in desc
    without = desc.replace(events.NOTES_MARKER, "").rstrip("\n")
    phone.write(call.id, replace_description=without + "\nno answer")
    clock.set(EVENING)
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "no_answer"
    assert got.notes == "no answer"


FORGED = "ref: Mallory Evil <mallory@evil.example>; offer: wire the money; win: forged win"
FORGERIES = {
    # entities: decoded to the marker (and line breaks) by anything that reads text as HTML
    "entities": (
        "Acme &#10;&#45;&#45;&#45; notes (write below this line) &#45;&#45;&#45;&#10;"
        + FORGED.replace("; ", "&#10;")
    ),
    # tags: stripped to the marker by anything that reads text as HTML
    "tags": "Acme <br><b>---</b> notes (write below this line) ---<br>"
    + FORGED.replace("; ", "<br>"),
    # odd dashes (an em dash is one of the dashes an editor makes of "---")
    "dashes": "Acme\n— notes (write below this line) —\n" + FORGED.replace("; ", "\n"),
    # the receipt's first line, as a line of its own once entities are decoded: what comes
    # after it (the person's note too) must not be taken for syncsvc's receipt
    "receipt": "Acme &#10;--- syncsvc read this ---&#10;" + FORGED.replace("; ", "&#10;"),
}


@pytest.mark.parametrize(
    "forgery",
    [
        "entities",
        "tags",
        "dashes",
        "receipt",
    ],
)
def test_a_contact_that_looks_like_the_marker_cannot_move_the_boundary(
    backend: Backend, clock: FixedClock, forgery: str
) -> None:
    app = backend.make_app(calls={"per_day": 1})
    forged = FORGERIES[forgery]
    person = app.add_person(PersonInput(name="Mara Forge", emails=["mara@example.org"], org=forged))
    with app.store.tx() as conn:  # a title looking the same (an import sets it; `add` cannot)
        conn.execute("UPDATE people SET title = ? WHERE id = ?", (forged, person))
    (call,) = app.plan()
    assert call.person_id == person
    people_before = people_db.count(app.store.conn)
    backend.phone.write(call.id, "no answer")  # below the real marker, where the hint points
    clock.set(EVENING)
    app.sync()
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "no_answer"
    assert got.notes == "no answer"
    assert got.referrals == [] and got.offers == [] and got.wins == []
    assert people_db.count(app.store.conn) == people_before
    assert people_db.find(app.store.conn, "mallory@evil.example") == []
    status = app.status()
    assert status["open_offers"] == [] and status["wins"] == [] and status["referrals"] == 0


# ------------------------------------------------------------------------------ when
def test_a_note_written_before_the_call_is_a_preparation_note(setup: Any) -> None:
    app, phone, clock = setup  # Friday 09:00; the calls are at 17:00-19:00
    call = app.plan()[0]
    phone.write(call.id, "Ask her about the move to Lisbon")
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "planned"  # prose would mean "done" after the start: not before
    assert got.referrals == [] and got.offers == []
    shown = [c.as_json() for c in app.calls()]  # what `calls --json` prints
    assert "Ask her about the move to Lisbon" in json.dumps(shown, ensure_ascii=False)
    # after the start, the person adds the call's note: that one decides
    clock.set(EVENING)
    phone.write(call.id, "\nno answer")
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "no_answer"
    assert "no answer" in got.notes
    shown = [c.as_json() for c in app.calls()]
    assert "Ask her about the move to Lisbon" in json.dumps(shown, ensure_ascii=False)


def test_a_preparation_note_that_says_an_outcome_plainly_counts(setup: Any) -> None:
    app, phone, _clock = setup  # Friday 09:00, before the calls
    skip, later, _ = app.plan()
    phone.write(skip.id, "skip")
    phone.write(later.id, "reschedule monday")
    app.sync()
    assert call_of(app, skip.id).outcome == "skipped"
    assert call_of(app, later.id).outcome == "rescheduled"
    retry = calls_db.on_day(app.store.conn, date(2026, 11, 30))
    assert [c.origin_call for c in retry if c.person_id == later.person_id] == [later.id]


# ------------------------------------------------------------------------------ the receipt
FULL_NOTE = (
    "done\n"
    "ref: Lena Hoffmann <lena@example.com>\n"
    "offer: send the deck\n"
    "follow up 2026-12-23\n"
    "win: got an interview at Acme\n"
    "referal Sam"
)
FULL_RECEIPT = [
    "outcome: done",
    "new name: Lena Hoffmann <lena@example.com>",
    "offer: send the deck",
    "follow-up: 2026-12-23",
    "win: got an interview at Acme",
    "not understood: referal Sam",
]


def test_the_receipt_lists_what_was_understood_and_what_was_not(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(call.id, FULL_NOTE)
    clock.set(EVENING)
    app.sync()
    desc = phone.event(call.id).description
    got = receipt_lines(desc)
    for line in FULL_RECEIPT:
        assert line in got
    # last in the description: every line of the person's note comes before it
    lines = [line.strip() for line in desc.splitlines()]
    header = lines.index(RECEIPT)
    for line in FULL_NOTE.split("\n"):
        assert line in lines[:header]


def test_the_receipt_is_written_once_and_never_read_as_the_note(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(call.id, FULL_NOTE)
    clock.set(EVENING)
    app.sync()
    first = call_of(app, call.id)
    people = people_db.count(app.store.conn)
    app.sync()
    app.sync()
    desc = phone.event(call.id).description
    assert desc.count(RECEIPT) == 1
    again = call_of(app, call.id)
    assert again.notes == FULL_NOTE
    assert RECEIPT not in again.notes and "outcome:" not in again.notes
    assert again.outcome == "done"
    assert again.referrals == first.referrals == ["Lena Hoffmann"]
    assert again.offers == ["send the deck"]
    assert again.wins == ["got an interview at Acme"]
    assert again.follow_up == date(2026, 12, 23)
    assert people_db.count(app.store.conn) == people
    assert len(people_db.find(app.store.conn, "lena@example.com")) == 1
    # she adds a line where her app puts the cursor, at the very end, below the receipt
    clock.advance(minutes=30)
    phone.write(call.id, "\noffer: coffee next month")
    app.sync()
    app.sync()
    later = call_of(app, call.id)
    assert later.offers == ["send the deck", "coffee next month"]
    assert later.referrals == ["Lena Hoffmann"] and later.wins == ["got an interview at Acme"]
    assert RECEIPT not in later.notes and "outcome:" not in later.notes
    assert "new name:" not in later.notes and "not understood:" not in later.notes
    assert people_db.count(app.store.conn) == people
    desc = phone.event(call.id).description
    assert desc.count(RECEIPT) == 1
    assert "offer: coffee next month" in receipt_lines(desc)


def test_a_changed_note_is_read_again_and_its_receipt_replaced(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(call.id, "no answer")
    clock.set(EVENING)
    app.sync()
    assert call_of(app, call.id).outcome == "no_answer"
    assert "outcome: no_answer" in receipt_lines(phone.event(call.id).description)
    # later that evening she reaches him after all and rewrites her line
    clock.advance(minutes=30)
    replace_line(phone, call.id, "no answer", "done, ref: Jane Roe <jane@example.org>")
    app.sync()
    app.sync()
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "done"
    assert got.referrals == ["Jane Roe"]
    assert got.notes == "done, ref: Jane Roe <jane@example.org>"  # the old receipt is not hers
    desc = phone.event(call.id).description
    assert desc.count(RECEIPT) == 1
    lines = receipt_lines(desc)
    assert "outcome: done" in lines
    assert "new name: Jane Roe <jane@example.org>" in lines
    assert "outcome: no_answer" not in lines


def test_the_receipt_never_overwrites_an_edit_made_meanwhile(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(call.id, "done\nref: Jane Roe <jane@example.org>")
    clock.set(EVENING)
    calendar = app.calendar
    real = calendar.update
    raced: list[str] = []

    def racing(event: Any, etag: str) -> str:
        if not raced:  # the person saves an edit between syncsvc's read and its receipt write
            raced.append(event.call_id)
            phone.write(event.call_id, "\noffer: intro to Sam")
        return real(event, etag)  # -> ConflictError: the etag is not the one syncsvc read

    monkeypatch.setattr(calendar, "update", racing)
    app.sync()  # the conflict is no error for the sync
    assert raced == [call.id]
    assert "offer: intro to Sam" in phone.event(call.id).description  # her edit survived
    monkeypatch.setattr(calendar, "update", real)
    app.sync()
    got = call_of(app, call.id)
    assert got.outcome == "done"
    assert got.referrals == ["Jane Roe"]
    assert got.offers == ["intro to Sam"]
    desc = phone.event(call.id).description
    assert "offer: intro to Sam" in desc
    assert desc.count(RECEIPT) == 1
    assert "offer: intro to Sam" in receipt_lines(desc)


@pytest.mark.parametrize("backend", ["google"], indirect=True)
def test_on_google_the_receipt_is_escaped_html_and_reads_back_as_text(
    setup: Any, request: pytest.FixtureRequest
) -> None:
    app, phone, clock = setup
    fake = request.getfixturevalue("google")
    call = app.plan()[0]
    phone.write(call.id, "done\nref: Lena Hoffmann <lena@example.com>")
    clock.set(EVENING)
    app.sync()
    from syncsvc.calendars.google import event_id
    from syncsvc.sync import uid_for

    raw = str(fake.event(event_id(uid_for(call.id)))["description"])
    block = raw[raw.index(RECEIPT) :]
    assert "<br>" in block
    assert "new name: Lena Hoffmann &lt;lena@example.com&gt;" in block
    assert "<lena@example.com>" not in block
    assert "new name: Lena Hoffmann <lena@example.com>" in receipt_lines(html_to_text(raw))
    app.sync()
    app.sync()
    got = call_of(app, call.id)
    assert got.notes == "done\nref: Lena Hoffmann <lena@example.com>"
    assert got.referrals == ["Lena Hoffmann"]
    assert (
        html_to_text(str(fake.event(event_id(uid_for(call.id)))["description"])).count(RECEIPT) == 1
    )


# ------------------------------------------------------------------------------ isolation
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def _three_calls_west_of_utc(backend: Backend, clock: FixedClock) -> tuple[App, list[Any]]:
    """Three calls on Friday in Los Angeles (the clock's Friday 09:00 Berlin is 00:00 there),
    and the clock moved to the next day, after them."""
    app = backend.make_app(calls={"per_day": 3, "timezone": "America/Los_Angeles"})
    add_people(app, 6)
    planned = app.plan()
    assert len(planned) == 3
    clock.set(datetime(2026, 11, 28, 12, 0, tzinfo=LOS_ANGELES))
    return app, planned


def test_an_impossible_note_does_not_stop_the_other_calls_notes(
    backend: Backend, clock: FixedClock
) -> None:
    app, (bad, good, _quiet) = _three_calls_west_of_utc(backend, clock)
    backend.phone.write(bad.id, "reschedule 31.12.9999")
    backend.phone.write(good.id, "done")
    app.sync()  # returns normally
    assert call_of(app, good.id).outcome == "done"


def test_an_impossible_note_is_reported_for_its_call(backend: Backend, clock: FixedClock) -> None:
    app, (bad, good, quiet) = _three_calls_west_of_utc(backend, clock)
    backend.phone.write(bad.id, "reschedule 31.12.9999")
    backend.phone.write(good.id, "done")
    report = app.sync().as_json()
    per_call = {c["call_id"]: c for c in report["calls"]}  # type: ignore[attr-defined]
    assert "outcome: done" in per_call[good.id]["understood"]
    entry = per_call[bad.id]
    assert entry.get("error") or any("31.12.9999" in line for line in entry["not_understood"])
    assert quiet.id not in per_call
    assert call_of(app, good.id).outcome == "done"


def test_a_note_that_fails_to_apply_does_not_stop_the_others(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncsvc import notes

    app, phone, clock = setup
    bad, good, _ = app.plan()
    real = notes.parse_notes

    def exploding(text: str, **kw: Any) -> Any:
        if "kaboom" in text:
            raise RuntimeError("a bug met a note")
        return real(text, **kw)

    monkeypatch.setattr(notes, "parse_notes", exploding)
    phone.write(bad.id, "kaboom")
    phone.write(good.id, "done\noffer: send the deck")
    clock.set(EVENING)
    report = app.sync().as_json()  # returns normally
    got = call_of(app, good.id)
    assert got.outcome == "done" and got.offers == ["send the deck"]
    per_call = {c["call_id"]: c for c in report["calls"]}  # type: ignore[attr-defined]
    assert per_call[bad.id].get("error") or per_call[bad.id]["not_understood"]
    assert call_of(app, bad.id).outcome == "planned"


# ------------------------------------------------------------------------------ sync output
def _two_notes(setup: Any) -> tuple[App, list[calls_db.Call]]:
    app, phone, clock = setup
    planned = app.plan()
    phone.write(planned[0].id, "done\nref: Lena Hoffmann <lena@example.com>\nreferal Sam")
    phone.write(planned[1].id, "no answer")
    clock.set(EVENING)
    return app, planned


def test_sync_json_gives_what_was_understood_per_call(
    setup: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app, (a, b, c) = _two_notes(setup)
    out = json.loads(sync_output(app, as_json=True, capsys=capsys))
    assert {"written", "updated", "changed", "deleted", "missed", "applied", "calls"} <= set(out)
    assert sorted(out["applied"]) == sorted([a.id, b.id])
    per_call = {entry["call_id"]: entry for entry in out["calls"]}
    assert set(per_call) == {a.id, b.id}  # the call with nothing written was not read
    assert per_call[a.id]["person"] == a.person_name
    assert "outcome: done" in per_call[a.id]["understood"]
    assert "new name: Lena Hoffmann <lena@example.com>" in per_call[a.id]["understood"]
    assert per_call[a.id]["not_understood"] == ["referal Sam"]
    assert per_call[b.id]["person"] == b.person_name
    assert per_call[b.id]["understood"] == ["outcome: no_answer"]
    assert per_call[b.id]["not_understood"] == []
    assert c.person_name not in json.dumps(out)
    # a sync with nothing new reads nothing
    again = json.loads(sync_output(app, as_json=True, capsys=capsys))
    assert again["calls"] == [] and again["applied"] == []


def test_sync_prints_one_line_per_call_read(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    app, (a, b, c) = _two_notes(setup)
    out = sync_output(app, as_json=False, capsys=capsys)
    lines = out.splitlines()
    (line_a,) = [line for line in lines if a.person_name in line]
    assert "done" in line_a and "Lena Hoffmann" in line_a
    (line_b,) = [line for line in lines if b.person_name in line]
    assert "no_answer" in line_b or "no answer" in line_b
    assert "referal Sam" in out
    assert c.person_name not in out


# ------------------------------------------------------------------------------ round trip
CONTEXT = events.EventContext(
    name="Lena Hoffmann",
    question="Do you know of anyone I might be able to spend 30 minutes talking to about grids?",
    topic_missing=False,
    kind="rotation",
    phones=[("+49 30 1234567", "+49301234567")],
    emails=["lena@example.com"],
    org="Acme Wind",
    title="Engineer",
    source="imported from contacts.vcf",
    last_call=(date(2026, 10, 2), "done\nshe said hi"),
    open_offers=["send the deck"],
)
GENERATED = events.description(CONTEXT)

# Printable text as a person types it; "<" and "&" are left out (plain text that looks like
# HTML is the HTML reader's business, not the round trip's).
_CHARS = st.characters(
    categories=("L", "N", "P", "S"), exclude_characters="<>&", include_characters=" "
)


def _not_ours(line: str) -> bool:
    """A line that neither looks like the marker or the receipt's first line nor is one of
    syncsvc's own lines (which nobody could tell apart from the original)."""
    plain = " ".join(line.split()).casefold()
    return (
        events.MARKER_RE.search(html_to_text(line)) is None
        and "syncsvc read this" not in plain
        and all(plain != " ".join(g.split()).casefold() for g in GENERATED.splitlines())
    )


_LINES = st.lists(
    st.text(_CHARS, min_size=1, max_size=30).map(str.strip).filter(bool).filter(_not_ours),
    min_size=1,
    max_size=5,
)


def _with_receipt(description: str, person: str) -> tuple[str, str]:
    full = events.with_receipt(
        description,
        events.receipt_block(["outcome: done", f"not understood: {person.splitlines()[0]}"]),
    )
    return full, full[full.rindex(RECEIPT) :]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES)
def test_round_trip_of_a_note_below_the_marker(lines: list[str]) -> None:
    person = "\n".join(lines)
    full, receipt = _with_receipt(GENERATED + person, person)
    assert full.count(RECEIPT) == 1
    assert events.user_text(full, GENERATED, receipt) == person
    # as Google stores it: HTML, read back as text
    assert events.user_text(description_html(full), GENERATED, receipt) == person


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES, where=st.integers(min_value=0))
def test_round_trip_of_a_note_anywhere(lines: list[str], where: int) -> None:
    generated = GENERATED.split("\n")
    at = where % (len(generated) + 1)
    person = "\n".join(lines)
    edited = "\n".join(generated[:at] + lines + generated[at:])
    full, receipt = _with_receipt(edited, person)
    assert events.user_text(full, GENERATED, receipt) == person
    assert events.user_text(description_html(full), GENERATED, receipt) == person
