"""The receipt says what syncsvc really did, never a silent guess: a ``ref:`` line that named
someone already on the list says so (not "new name"), the same on every read of the same note;
and a ``gave:`` line the person later removes reopens the offer it closed (only that one: an
offer marked done by hand stays done). Flow tests on every backend, then the store's rules and
migration V10 that keeps what they need (``referrals.matched_by``, ``offers.closed_by``)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncsvc import notes, sync
from syncsvc.app import PersonInput
from syncsvc.store import Store
from syncsvc.store import calls as calls_db
from syncsvc.store import notes as notes_db
from syncsvc.store import people as people_db
from syncsvc.store.migrations import SCHEMA_VERSION
from tests import test_flow as flow
from tests.test_flow import FRIDAY, MONDAY
from tests.test_notes_loop import EVENING, RECEIPT, receipt_lines, replace_line, sync_output
from tests.test_store_migrations import old_store
from tests.test_store_rules import add_call

# test_flow's fixtures, used here by name: every backend, and the setup of its flow tests
backend, setup, google, radicale, graph = (
    flow.backend,
    flow.setup,
    flow.google,
    flow.radicale,
    flow.graph,
)

KNOWN = (
    'known name: Jane Roe <jane@example.org> — already on your list (as "Jane R.", matched by'
    " email)"
)
NEW = "new name: Lena Hoffmann <lena@example.com>"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 20, 0, tzinfo=flow.BERLIN)


# ------------------------------------------------------------------ flow: every backend
def test_a_referral_already_on_the_list_is_said_so_on_every_read(
    setup: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app, phone, clock = setup
    known = app.add_person(PersonInput(name="Jane R.", emails=["JANE@example.org"]))
    call = next(c for c in app.plan() if c.person_id != known)
    phone.write(call.id, "done\nref: Jane Roe <jane@example.org>\nref: " + NEW[10:])
    clock.set(EVENING)
    out = json.loads(sync_output(app, as_json=True, capsys=capsys))
    (read,) = out["calls"]
    assert read["understood"][1:3] == [KNOWN, NEW]  # in the note's order, after the outcome
    first = phone.event(call.id).description
    assert receipt_lines(first)[1:3] == [KNOWN, NEW]
    got = calls_db.get(app.store.conn, call.id)
    assert got is not None and sorted(got.referrals) == ["Jane R.", "Lena Hoffmann"]

    # she moves the event: the same note is read again (now Lena is on the list too), and the
    # receipt says the same, so it is not rewritten
    moved = phone.event(call.id).start - timedelta(minutes=30)
    phone.write(call.id, start=moved)
    version = phone.versions()[call.id]
    again = json.loads(sync_output(app, as_json=True, capsys=capsys))
    assert [c["understood"] for c in again["calls"]] == [read["understood"]]
    app.sync()
    assert phone.versions()[call.id] == version
    assert phone.event(call.id).description == first

    # a change of mind elsewhere in the note: Lena, whom this note added, is still its new
    # name (not "already on your list" now that she is), and Jane still the known one
    clock.advance(minutes=30)
    phone.write(call.id, "\nfollow up in 2 weeks")
    text = sync_output(app, as_json=False, capsys=capsys)
    assert KNOWN in text and NEW in text
    desc = phone.event(call.id).description
    assert desc.count(RECEIPT) == 1
    lines = receipt_lines(desc)
    assert lines[1:3] == [KNOWN, NEW] and "follow-up: 2026-12-11" in lines
    assert len(people_db.find(app.store.conn, "lena@example.com")) == 1
    assert len(people_db.find(app.store.conn, "jane@example.org")) == 1


def test_a_removed_gave_line_reopens_the_offer_it_closed_and_only_that(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(
        call.id,
        "done\noffer: send her the article\noffer: an intro to Sam\noffer: coffee in spring\n"
        "follow up monday",
    )
    clock.set(evening(FRIDAY))
    app.sync()
    article, intro, coffee = app.offers()
    assert [article.text, intro.text, coffee.text] == [
        "send her the article",
        "an intro to Sam",
        "coffee in spring",
    ]
    follow = next(c for c in app.plan(MONDAY) if c.person_id == call.person_id)
    phone.write(follow.id, "talked again\ngave: the article\nsent: the intro to Sam")
    clock.set(evening(MONDAY))
    app.sync()
    assert [o.text for o in app.offers()] == ["coffee in spring"]
    lines = receipt_lines(phone.event(follow.id).description)
    assert lines[1:] == [  # which offer each line closed, and when it was offered
        'offer done: the article — closed "send her the article" (offered 27 Nov)',
        'offer done: the intro to Sam — closed "an intro to Sam" (offered 27 Nov)',
    ]
    app.offer_done(intro.id)  # marked done by hand as well: it stays done whatever the note says
    app.offer_done(coffee.id)

    # she had not sent the article after all, nor the intro: both lines go
    clock.advance(minutes=30)
    replace_line(phone, follow.id, "gave: the article", "")
    replace_line(phone, follow.id, "sent: the intro to Sam", "")
    app.sync()
    app.sync()
    assert [o.text for o in app.offers()] == ["send her the article"]
    lines = receipt_lines(phone.event(follow.id).description)
    assert not [line for line in lines if line.startswith("offer done:")]
    assert "send her the article" in phone.event(follow.id).description  # still in the event


def test_each_gave_line_says_which_offer_it_closed_or_that_it_closed_none(
    setup: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line closes an open offer, one names an offer already marked done by hand, one
    matches nothing (two offers are open, so none is guessed): the receipt says each, in the
    note's order, the same on every read of the same note."""
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(
        call.id,
        "done\noffer: send her the article\noffer: an intro to Sam\noffer: coffee in spring\n"
        "offer: the deck\nfollow up monday",
    )
    clock.set(evening(FRIDAY))
    app.sync()
    intro = app.offers()[1]
    assert intro.text == "an intro to Sam"
    app.offer_done(intro.id)  # done by hand before the next call
    follow = next(c for c in app.plan(MONDAY) if c.person_id == call.person_id)
    phone.write(follow.id, "talked again\ngave: the article\nsent: the intro\ngave: a podcast")
    clock.set(evening(MONDAY))
    out = json.loads(sync_output(app, as_json=True, capsys=capsys))
    (read,) = out["calls"]
    name = calls_db.get(app.store.conn, follow.id).person_name  # type: ignore[union-attr]
    assert read["person"] == name
    expected = [
        'offer done: the article — closed "send her the article" (offered 27 Nov)',
        'offer done: the intro — "an intro to Sam" was already done (offered 27 Nov)',
        f"nothing closed: a podcast — no open offer to {name} matches it (see syncsvc offers)",
    ]
    assert read["understood"] == ["outcome: done", *expected]
    first = phone.event(follow.id).description
    assert receipt_lines(first) == ["outcome: done", *expected]
    assert [o.text for o in app.offers()] == ["coffee in spring", "the deck"]

    # she moves the event: the same note is read again, the receipt says the same (the
    # article is done now, but by this very note), so the event is not rewritten
    phone.write(follow.id, start=phone.event(follow.id).start - timedelta(minutes=30))
    version = phone.versions()[follow.id]
    again = json.loads(sync_output(app, as_json=True, capsys=capsys))
    assert [c["understood"] for c in again["calls"]] == [read["understood"]]
    app.sync()
    assert phone.versions()[follow.id] == version
    assert phone.event(follow.id).description == first
    assert [o.text for o in app.offers()] == ["coffee in spring", "the deck"]

    # a change of mind elsewhere in the note: the article is still closed by this note
    clock.advance(minutes=30)
    phone.write(follow.id, "\nwin: she got the job")
    text = sync_output(app, as_json=False, capsys=capsys)
    assert expected[0] in text and expected[2] in text
    lines = receipt_lines(phone.event(follow.id).description)
    assert lines[1:4] == expected and "win: she got the job" in lines
    assert [o.text for o in app.offers()] == ["coffee in spring", "the deck"]


# ------------------------------------------------------------------ the receipt line
def test_the_known_name_line() -> None:
    ref = notes.Referral("Jane Roe", ("jane@example.org",), ("+1 555 0100",), "")
    as_known = notes_db.Referred(5, "Jane R.", "email")
    assert sync.known_name_line(ref, as_known, called=1) == (
        'known name: Jane Roe <jane@example.org> +1 555 0100 — already on your list (as "Jane R.",'
        " matched by email)"
    )
    same = notes_db.Referred(5, "jane roe", "name")  # the name as written: not repeated
    assert sync.known_name_line(ref, same, called=1) == (
        "known name: Jane Roe <jane@example.org> +1 555 0100 — already on your list "
        "(matched by name)"
    )
    only_phone = notes.Referral("", (), ("+1 555 0100",), "")
    called = notes_db.Referred(1, "Ann Callee", "phone")
    assert sync.known_name_line(only_phone, called, called=1) == (
        'known name: +1 555 0100 — the person you called (as "Ann Callee", matched by phone)'
    )
    parsed = notes.parse_notes(
        "done\nref: Jane Roe <jane@example.org>\nref: Lena Hoffmann <lena@example.com>",
        call_day=FRIDAY,
    )
    assert parsed.understood[1:3] == (
        "new name: Jane Roe <jane@example.org>",
        NEW,
    )  # the parser cannot know: the store decides
    assert [notes.new_name_line(r) for r in parsed.referrals] == list(parsed.understood[1:3])


def test_the_offer_done_line() -> None:
    offer = calls_db.Offer(7, "c-1", 1, "Ann", "send her the article", FRIDAY, None)
    closed = notes_db.Closing("the article", offer, now=True)
    assert sync.offer_done_line(closed, "Ann", MONDAY) == (
        'offer done: the article — closed "send her the article" (offered 27 Nov)'
    )
    done = notes_db.Closing("the article", offer)
    assert sync.offer_done_line(done, "Ann", date(2027, 1, 4)) == (
        'offer done: the article — "send her the article" was already done (offered 27 Nov 2026)'
    )
    none = notes_db.Closing("a podcast", None)
    line = sync.offer_done_line(none, "Ann", MONDAY)
    assert (
        line == "nothing closed: a podcast — no open offer to Ann matches it (see syncsvc offers)"
    )
    # the person copies the receipt's lines into a note: the no-match one is no instruction,
    # the others close again (only) the offer they name
    assert notes.parse_notes("done\n" + line, call_day=MONDAY).closed_offers == ()
    for said in (closed, done):
        text = sync.offer_done_line(said, "Ann", MONDAY)
        (again,) = notes.parse_notes("done\n" + text, call_day=MONDAY).closed_offers
        assert notes_db.offer_match(again, "send her the article") == 1.0
        assert notes_db.offer_match(again, "an intro to Sam") == 0.0
    assert notes.parse_notes("done\ngave: the article", call_day=MONDAY).understood == (
        "outcome: done",
        notes.offer_done_line("the article"),
    )  # the parser cannot know: the store decides


# ------------------------------------------------------------------ the store's rules
@pytest.fixture
def store() -> Store:
    return Store.memory()


def note(digest: str, **kw: Any) -> notes_db.Notes:
    return notes_db.Notes(outcome="done", text="done", digest=digest, **kw)


def matched_by(conn: sqlite3.Connection, call_id: str) -> dict[int, str | None]:
    rows = conn.execute("SELECT person_id, matched_by FROM referrals WHERE call_id = ?", (call_id,))
    return {r[0]: r[1] for r in rows}


def test_apply_notes_says_who_each_referral_is_and_how_it_matched(store: Store) -> None:
    with store.tx() as conn:
        callee = people_db.add(conn, name="Ann Callee", source="manual")
        people_db.add_address(conn, callee, "phone", "+49 30 999", "+4930999")
        bob = people_db.add(conn, name="Bob Known", source="manual")
        people_db.add_address(conn, bob, "email", "bob@example.org", "bob@example.org")
        cleo = people_db.add(conn, name="Cleo Known", source="manual")
        people_db.add_address(conn, cleo, "phone", "030 1234567", "+49301234567")
        dora = people_db.add(conn, name="Dora Named", source="manual")
        call = add_call(conn, callee, MONDAY)
        refs = [
            notes_db.Referral("Robert", emails=[("BOB@example.org", "bob@example.org")]),
            notes_db.Referral("Cleo", phones=[("+49 30 1234567", "+49301234567")]),
            notes_db.Referral("Dora Named"),
            notes_db.Referral("Eve New", emails=[("eve@example.org", "eve@example.org")]),
            notes_db.Referral(None, phones=[("+49 30 999", "+4930999")]),  # the callee herself
        ]
        applied = notes_db.apply_notes(conn, call, note("1", referrals=refs), NOW)
        eve = people_db.find(conn, "eve@example.org")[0].id
        assert applied.referrals == [
            notes_db.Referred(bob, "Bob Known", "email"),
            notes_db.Referred(cleo, "Cleo Known", "phone"),
            notes_db.Referred(dora, "Dora Named", "name"),
            notes_db.Referred(eve, "Eve New", None),
            notes_db.Referred(callee, "Ann Callee", "phone"),
        ]
        assert applied.people == [bob, cleo, dora, eve, callee]
        assert matched_by(conn, call.id) == {
            bob: "email",
            cleo: "phone",
            dora: "name",
            eve: None,
            callee: "phone",
        }
        # read again unchanged: the same answer, and nothing written
        changes = conn.total_changes
        assert notes_db.referrals_read(conn, call.id, refs) == applied.referrals
        assert conn.total_changes == changes


def test_a_changed_note_still_calls_the_name_it_added_new(store: Store) -> None:
    """The first reading added Eve; a changed note now finds her on the list by her email,
    but she is still this note's new name: the receipt does not flip between readings."""
    with store.tx() as conn:
        callee = people_db.add(conn, name="Ann Callee", source="manual")
        call = add_call(conn, callee, MONDAY)
        eve = notes_db.Referral("Eve New", emails=[("eve@example.org", "eve@example.org")])
        first = notes_db.apply_notes(conn, call, note("1", referrals=[eve]), NOW)
        assert first.referrals[0].matched_by is None
        call = calls_db.get(conn, call.id) or call
        notes_db.undo_notes(conn, call)
        again = notes_db.apply_notes(conn, call, note("2", referrals=[eve], wins=["a job"]), NOW)
        assert again.referrals == first.referrals
        assert notes_db.referrals_read(conn, call.id, [eve]) == first.referrals
        # someone else's note naming Eve finds her on the list
        other = add_call(conn, people_db.add(conn, name="Other", source="manual"), MONDAY)
        later = notes_db.apply_notes(conn, other, note("3", referrals=[eve]), NOW)
        assert later.referrals[0].matched_by == "email"


def test_undo_reopens_only_the_offers_its_note_closed(store: Store) -> None:
    with store.tx() as conn:
        ann = people_db.add(conn, name="Ann", source="manual")
        first = add_call(conn, ann, MONDAY)
        texts = ["the article", "an intro to Sam", "coffee", "the deck"]
        notes_db.apply_notes(conn, first, note("1", offers=texts), NOW)
        ids = {o.text: o.id for o in calls_db.offers_open(conn, ann)}
        second = add_call(conn, ann, MONDAY + timedelta(days=1))
        gave = ["the article", "the intro to Sam", "coffee"]
        applied = notes_db.apply_notes(conn, second, note("2", closed_offers=gave), NOW)
        assert applied.closed_offers == ["the article", "an intro to Sam", "coffee"]
        third = add_call(conn, ann, MONDAY + timedelta(days=2))
        notes_db.apply_notes(conn, third, note("3", closed_offers=["the deck"]), NOW)
        assert calls_db.offers_open(conn, ann) == []
        closed_by = dict(conn.execute("SELECT text, closed_by FROM offers").fetchall())
        assert closed_by == {
            "the article": second.id,
            "an intro to Sam": second.id,
            "coffee": second.id,
            "the deck": third.id,
        }
        # the intro marked done by hand as well (`offers done`): pinned, whatever the note says
        assert calls_db.close_offer(conn, ids["an intro to Sam"], NOW) is False

        notes_db.undo_notes(conn, calls_db.get(conn, second.id) or second)
        assert [o.text for o in calls_db.offers_open(conn, ann)] == ["the article", "coffee"]
        # the changed note still says "gave: coffee": closed again, by it
        notes_db.apply_notes(conn, second, note("4", closed_offers=["coffee"]), NOW)
        assert [o.text for o in calls_db.offers_open(conn, ann)] == ["the article"]
        row = conn.execute("SELECT closed_by FROM offers WHERE text = 'coffee'").fetchone()
        assert row[0] == second.id


def what(closings: list[notes_db.Closing]) -> list[tuple[str, str | None, bool]]:
    """Each closing as (the text said, the offer it matched, closed by this note)."""
    return [(c.said, c.offer.text if c.offer else None, c.now) for c in closings]


def test_close_offers_says_per_text_what_it_did_and_the_same_when_read_again(
    store: Store,
) -> None:
    with store.tx() as conn:
        ann = people_db.add(conn, name="Ann", source="manual")
        first = add_call(conn, ann, MONDAY)
        texts = ["send her the article", "an intro to Sam", "coffee", "the deck"]
        notes_db.apply_notes(conn, first, note("1", offers=texts), NOW)
        offers = {o.text: o for o in calls_db.offers_open(conn, ann)}
        calls_db.close_offer(conn, offers["an intro to Sam"].id, NOW)  # by hand
        second = add_call(conn, ann, MONDAY + timedelta(days=1))
        gave = ["the article", "the intro to Sam", "a podcast", "the article"]
        applied = notes_db.apply_notes(conn, second, note("2", closed_offers=gave), NOW)
        assert what(applied.closings) == [
            ("the article", "send her the article", True),
            ("the intro to Sam", "an intro to Sam", False),  # done by hand before
            ("a podcast", None, False),  # two offers open: none is guessed
            ("the article", None, False),  # that offer is taken by the first line
        ]
        assert applied.closed_offers == ["send her the article", "an intro to Sam"]
        assert [o.text for o in calls_db.offers_open(conn, ann)] == ["coffee", "the deck"]

        # read again unchanged: the same answer (the article closed by this note), no writes
        call = calls_db.get(conn, second.id) or second
        changes = conn.total_changes
        again = notes_db.closings_read(conn, call, gave)
        assert conn.total_changes == changes
        assert what(again) == what(applied.closings)
        # another note's "gave:" finds the article already done, not closed by it
        third = add_call(conn, ann, MONDAY + timedelta(days=2))
        later = notes_db.apply_notes(conn, third, note("3", closed_offers=["the article"]), NOW)
        assert what(later.closings) == [("the article", "send her the article", False)]
        assert what(notes_db.closings_read(conn, third, ["the article"])) == what(later.closings)


def test_the_only_open_offer_is_closed_and_found_again(store: Store) -> None:
    """A text that matches nothing closes the person's only open offer: read again, that
    offer (done now, by this note) is still the one it closed, not "nothing closed"."""
    with store.tx() as conn:
        ann = people_db.add(conn, name="Ann", source="manual")
        first = add_call(conn, ann, MONDAY)
        notes_db.apply_notes(conn, first, note("1", offers=["the deck"]), NOW)
        second = add_call(conn, ann, MONDAY + timedelta(days=1))
        applied = notes_db.apply_notes(conn, second, note("2", closed_offers=["it, finally"]), NOW)
        assert what(applied.closings) == [("it, finally", "the deck", True)]
        assert what(notes_db.closings_read(conn, second, ["it, finally"])) == what(applied.closings)
        # the same note applied again after undo (a change of mind): closed by it again
        notes_db.undo_notes(conn, calls_db.get(conn, second.id) or second)
        redo = notes_db.apply_notes(conn, second, note("3", closed_offers=["it"]), NOW)
        assert what(redo.closings) == [("it", "the deck", True)]


# ------------------------------------------------------------------ migration V10
def rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql)]


def test_migration_10_keeps_older_referrals_and_closed_offers_as_they_were(
    tmp_path: Path,
) -> None:
    """Rows from before V10 have no record: a referral reads as the new name it was said to
    be, and an offer closed before stays closed whatever happens to the note that closed it."""
    path = tmp_path / "v9.db"
    old_store(path, 9)
    conn = sqlite3.connect(path)
    now = "2026-12-01T00:00:00+00:00"
    for call_id, day in (("c1", "2026-11-30"), ("c2", "2026-12-01")):
        conn.execute(
            "INSERT INTO calls(id, person_id, day, start_at, end_at, tz, kind, outcome, notes, "
            "notes_hash, created_at, updated_at) "
            "VALUES (?, 1, ?, ?, ?, 'UTC', 'rotation', 'done', 'n', 'h', ?, ?)",
            (call_id, day, now, now, now, now),
        )
    conn.execute("INSERT INTO referrals(call_id, person_id) VALUES ('c1', 1)")
    conn.execute(
        "INSERT INTO offers(call_id, person_id, text, done_at) VALUES ('c1', 1, 'the article', ?)",
        (now,),
    )
    conn.commit()
    conn.close()
    store = Store.open(path)
    try:
        c = store.conn
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert rows(c, "SELECT matched_by FROM referrals") == [(None,)]
        assert rows(c, "SELECT done_at, closed_by FROM offers") == [(now, None)]
        with store.tx():
            notes_db.undo_notes(c, calls_db.get(c, "c2"))  # type: ignore[arg-type]
        assert calls_db.offers_open(c) == []
        with pytest.raises(sqlite3.IntegrityError):
            c.execute("UPDATE referrals SET matched_by = 'guess'")
        # the call that closed an offer goes: the offer stays closed, by nobody now
        with store.tx():
            c.execute("UPDATE offers SET closed_by = 'c2'")
            c.execute("DELETE FROM calls WHERE id = 'c2'")
        assert rows(c, "SELECT done_at, closed_by FROM offers") == [(now, None)]
    finally:
        store.close()
