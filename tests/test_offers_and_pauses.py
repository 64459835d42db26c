"""Issue 13, the notes' effects on planning: offers made good in a later call's note, a win
thanking the people up the referral chain (never twice in a week), and the people a note takes
out of the rotation (``stop``, ``wrong_number``) — in the store, and in the pure planner."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from syncsvc import config as config_mod
from syncsvc import planner, scheduling
from syncsvc.store import Store
from syncsvc.store import calls as calls_db
from syncsvc.store import notes as notes_db
from syncsvc.store import people as people_db
from syncsvc.store import planning as planning_db

MONDAY = date(2026, 11, 30)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def calls_cfg(**kw: Any) -> config_mod.CallsConfig:
    return config_mod.build({"calls": {"timezone": "Europe/Berlin", **kw}}, None).calls


@pytest.fixture
def store() -> Store:
    return Store.memory()


def add_call(
    conn: sqlite3.Connection, person_id: int, day: date = MONDAY, outcome: str = "planned"
) -> calls_db.Call:
    cid = f"c-{person_id}-{day:%m%d}"
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=16)
    calls_db.insert(
        conn,
        call_id=cid,
        person_id=person_id,
        day=day,
        start=start,
        end=start + timedelta(minutes=20),
        tz="Europe/Berlin",
        kind="rotation",
    )
    if outcome != "planned":
        calls_db.set_outcome(conn, cid, outcome)
    call = calls_db.get(conn, cid)
    assert call is not None
    return call


def note(outcome: str = "done", digest: str = "d", **kw: Any) -> notes_db.Notes:
    return notes_db.Notes(outcome=outcome, text=outcome, digest=digest, **kw)


def open_texts(conn: sqlite3.Connection, person_id: int | None = None) -> list[str]:
    return [o.text for o in calls_db.offers_open(conn, person_id)]


# ------------------------------------------------------------------ offers made good
@pytest.mark.parametrize(
    ("said", "offer", "matches"),
    [
        ("the article", "send her the article", True),
        ("Send her the article!", "the article", True),  # either way round
        ("the articel", "send her the article", True),  # a typo: difflib's ratio
        ("Intro zu Sam", "intro to Sam", True),
        ("the deck", "an intro to Sam", False),
        ("", "the article", False),
        ("the", "the article", False),  # nothing but an article says nothing
    ],
)
def test_offer_match(said: str, offer: str, matches: bool) -> None:
    assert (notes_db.offer_match(said, offer) >= notes_db.OFFER_MATCH_RATIO) is matches


def test_a_later_note_closes_the_matching_offer_of_that_person_only(store: Store) -> None:
    with store.tx() as conn:
        ada = people_db.add(conn, name="Ada", source="manual")
        bob = people_db.add(conn, name="Bob", source="manual")
        first = add_call(conn, ada, MONDAY - timedelta(days=7), outcome="done")
        notes_db.apply_notes(
            conn, first, note(offers=["send her the article", "an intro to Sam"]), NOW
        )
        bobs = add_call(conn, bob, MONDAY - timedelta(days=7), outcome="done")
        notes_db.apply_notes(conn, bobs, note(offers=["the article"]), NOW)

        later = add_call(conn, ada)
        gave = note(digest="g1", closed_offers=["the article"])
        applied = notes_db.apply_notes(conn, later, gave, NOW)
        assert applied.closed_offers == ["send her the article"]
        assert open_texts(conn, ada) == ["an intro to Sam"]
        assert open_texts(conn, bob) == ["the article"]  # never another person's offer
        (done,) = [o for o in calls_db.earlier_offers(conn, ada, later.id, MONDAY) if o.done_at]
        assert done.done_at == NOW.isoformat(timespec="seconds")

        # the note read again (the same, or changed): the same offer, already done; the
        # other open one is not taken as "the only open offer"
        for digest in ("g1", "g2"):
            again = notes_db.apply_notes(
                conn, later, note(digest=digest, closed_offers=["the article"]), NOW
            )
            assert again.closed_offers == ["send her the article"]
        assert open_texts(conn, ada) == ["an intro to Sam"]
        # the status leaves a done offer out
        assert [o.text for o in calls_db.offers_open(conn)] == [
            "an intro to Sam",
            "the article",
        ]


def test_an_unmatched_gave_closes_the_only_open_offer(store: Store) -> None:
    with store.tx() as conn:
        ada = people_db.add(conn, name="Ada", source="manual")
        first = add_call(conn, ada, MONDAY - timedelta(days=7), outcome="done")
        notes_db.apply_notes(conn, first, note(offers=["send her the article"]), NOW)
        later = add_call(conn, ada)
        applied = notes_db.apply_notes(conn, later, note(closed_offers=["it, finally"]), NOW)
        assert applied.closed_offers == ["send her the article"]
        assert open_texts(conn) == []


def test_an_unmatched_gave_with_two_open_offers_closes_nothing(store: Store) -> None:
    with store.tx() as conn:
        ada = people_db.add(conn, name="Ada", source="manual")
        first = add_call(conn, ada, MONDAY - timedelta(days=7), outcome="done")
        notes_db.apply_notes(conn, first, note(offers=["the article", "an intro"]), NOW)
        later = add_call(conn, ada)
        # nor does the offer made on this very call count as an earlier one
        applied = notes_db.apply_notes(
            conn, later, note(offers=["a book"], closed_offers=["the thing"]), NOW
        )
        assert applied.closed_offers == []
        assert open_texts(conn) == ["the article", "an intro", "a book"]


def test_one_line_closes_one_offer(store: Store) -> None:
    with store.tx() as conn:
        ada = people_db.add(conn, name="Ada", source="manual")
        first = add_call(conn, ada, MONDAY - timedelta(days=7), outcome="done")
        notes_db.apply_notes(conn, first, note(offers=["intro to Bob", "intro to Sam"]), NOW)
        later = add_call(conn, ada)
        applied = notes_db.apply_notes(
            conn, later, note(closed_offers=["intro to Sam", "intro"]), NOW
        )
        assert applied.closed_offers == ["intro to Sam", "intro to Bob"]
        assert open_texts(conn) == []


# ------------------------------------------------------------------ pauses
def test_stop_and_wrong_number_pause_the_person(store: Store) -> None:
    with store.tx() as conn:
        ada, bob = (people_db.add(conn, name=n, source="manual") for n in ("Ada", "Bob"))
        applied = notes_db.apply_notes(conn, add_call(conn, ada), note("stop"), NOW)
        notes_db.apply_notes(conn, add_call(conn, bob), note("wrong_number"), NOW)
        assert applied.paused == "stop"
        assert people_db.paused(conn, ada) == "stop"
        assert people_db.get(conn, bob).paused == "wrong_number"  # type: ignore[union-attr]
        assert calls_db.get(conn, f"c-{ada}-{MONDAY:%m%d}").outcome == "stop"  # type: ignore[union-attr]


def test_a_changed_note_lifts_the_pause_its_first_reading_set(store: Store) -> None:
    with store.tx() as conn:
        ada = people_db.add(conn, name="Ada", source="manual")
        call = add_call(conn, ada)
        notes_db.apply_notes(conn, call, note("stop", digest="1"), NOW)
        notes_db.apply_notes(conn, call, note("wrong_number", digest="2"), NOW)
        assert people_db.paused(conn, ada) == "wrong_number"
        notes_db.apply_notes(conn, call, note("done", digest="3"), NOW)
        assert people_db.paused(conn, ada) is None


def test_a_pause_from_another_call_or_by_hand_stays(store: Store) -> None:
    with store.tx() as conn:
        ada, bob = (people_db.add(conn, name=n, source="manual") for n in ("Ada", "Bob"))
        earlier = add_call(conn, ada, MONDAY - timedelta(days=7))
        notes_db.apply_notes(conn, earlier, note("stop"), NOW)
        call = add_call(conn, ada)  # (planned by hand, say) and noted "done": still stop
        notes_db.apply_notes(conn, call, note("done"), NOW)
        assert people_db.paused(conn, ada) == "stop"
        # a stronger pause is never weakened: never > stop > wrong number
        people_db.set_paused(conn, bob, "never")
        bobs = add_call(conn, bob)
        for outcome, digest in (("stop", "1"), ("wrong_number", "2"), ("done", "3")):
            notes_db.apply_notes(conn, bobs, note(outcome, digest=digest), NOW)
            assert people_db.paused(conn, bob) == "never"
        assert people_db.set_paused(conn, bob, None) is True
        assert people_db.set_paused(conn, bob, None) is False
        with pytest.raises(ValueError):
            people_db.set_paused(conn, bob, "holiday")


def test_a_new_phone_or_email_lifts_a_wrong_number_only(store: Store) -> None:
    with store.tx() as conn:
        ada, bob = (people_db.add(conn, name=n, source="manual") for n in ("Ada", "Bob"))
        people_db.add_address(conn, ada, "phone", "+49 30 1", "+49301")
        people_db.set_paused(conn, ada, "wrong_number")
        people_db.set_paused(conn, bob, "stop")
        # the number they have already, or a web page, is no new way to reach them
        assert not people_db.add_address(conn, ada, "phone", "+49 30 1", "+49301")
        people_db.add_address(conn, ada, "url", "https://ada.example", "ada.example")
        assert people_db.paused(conn, ada) == "wrong_number"
        people_db.add_address(conn, ada, "phone", "+49 30 2", "+49302")
        assert people_db.paused(conn, ada) is None
        people_db.add_address(conn, bob, "email", "bob@example.org", "bob@example.org")
        assert people_db.paused(conn, bob) == "stop"  # only by hand


def test_a_referral_line_with_a_new_address_lifts_a_wrong_number(store: Store) -> None:
    with store.tx() as conn:
        ada, bob = (people_db.add(conn, name=n, source="manual") for n in ("Ada", "Bob"))
        people_db.set_paused(conn, ada, "wrong_number")
        ref = notes_db.Referral("Ada", phones=[("+49 30 3", "+49303")])
        notes_db.apply_notes(conn, add_call(conn, bob), note(referrals=[ref]), NOW)
        assert people_db.paused(conn, ada) is None


def test_a_paused_person_is_in_no_lane(store: Store) -> None:
    with store.tx() as conn:
        referrer = people_db.add(conn, name="Referrer", source="manual")
        follow = people_db.add(conn, name="Follow", source="manual")
        retry = people_db.add(conn, name="Retry", source="manual")
        won = people_db.add(conn, name="Won", source="referral", referred_by=referrer)
        fresh = people_db.add(conn, name="Fresh", source="referral", referred_by=referrer)
        rotation = people_db.add(conn, name="Rotation", source="manual")
        week_ago = MONDAY - timedelta(days=7)
        fu = add_call(conn, follow, week_ago, outcome="done")
        conn.execute("UPDATE calls SET follow_up = ? WHERE id = ?", (MONDAY.isoformat(), fu.id))
        add_call(conn, retry, week_ago, outcome="no_answer")
        win = add_call(conn, won, week_ago, outcome="done")
        notes_db.apply_notes(conn, win, note(wins=["a job"]), NOW)

        facts = scheduling.facts(conn, MONDAY, 3)
        assert [d.person_id for d in facts.follow_ups] == [follow]
        assert [d.person_id for d in facts.updates] == [referrer]
        assert facts.referrals == (fresh,)
        assert [r.person_id for r in facts.retries] == [retry]
        assert rotation in facts.rotation

        for person_id in (referrer, follow, retry, won, fresh, rotation):
            people_db.set_paused(conn, person_id, "stop")
        paused = scheduling.facts(conn, MONDAY, 3)
        lanes = (paused.follow_ups, paused.updates, paused.referrals, paused.retries)
        assert lanes == ((), (), (), ())
        assert paused.rotation == ()
        assert scheduling.plan_day(conn, calls_cfg(per_day=3), MONDAY, "i") == []


# ------------------------------------------------------------------ thank-you calls
def test_the_pure_planner_keeps_a_thank_you_call_a_week_off_any_other_call() -> None:
    facts = planner.PlanningFacts(
        day=MONDAY,
        updates=(
            planner.Due(1, "w"),
            planner.Due(2, "w"),
            planner.Due(3, "w"),
            planner.Due(4, "w"),
        ),
        update_call_days={
            1: {MONDAY - timedelta(days=6)},  # called last Tuesday: waits
            2: {MONDAY - timedelta(days=7)},  # a week ago today: due
            3: {MONDAY + timedelta(days=3)},  # planned for Thursday: waits
        },
        rotation=(9,),
    )
    assert [(p.person_id, p.kind) for p in planner.choose(facts, 3)] == [
        (2, "follow_up"),
        (4, "follow_up"),
        (9, "rotation"),
    ]
    first, last = planner.update_window(MONDAY)
    assert (MONDAY - first, last - MONDAY) == (timedelta(days=6), timedelta(days=6))


def test_a_thank_you_call_waits_until_a_week_after_the_persons_last_call(store: Store) -> None:
    cfg = calls_cfg(per_day=1)
    with store.tx() as conn:
        ana = people_db.add(conn, name="Ana", source="manual")
        ben = people_db.add(conn, name="Ben", source="referral", referred_by=ana)
        for i in range(3):  # never called: the rotation's first, ahead of Ana
            people_db.add(conn, name=f"Filler {i}", source="manual")
        # Ana's call last Wednesday (done); a call skipped since did not reach her
        add_call(conn, ana, MONDAY - timedelta(days=5), outcome="done")
        add_call(conn, ana, MONDAY - timedelta(days=2), outcome="skipped")
        win = add_call(conn, ben, MONDAY - timedelta(days=3), outcome="done")
        notes_db.apply_notes(conn, win, note(wins=["an interview"]), NOW)
        facts = scheduling.facts(conn, MONDAY, 1)
        assert facts.update_call_days == {ana: {MONDAY - timedelta(days=5)}}
        for day in (MONDAY, MONDAY + timedelta(days=1)):
            scheduling.plan_day(conn, cfg, day, "i")
            planned = {c.person_id: c for c in calls_db.on_day(conn, day)}
            assert ana not in planned or planned[ana].kind != "follow_up"
            for c in planned.values():
                calls_db.set_outcome(conn, c.id, "done")
        wednesday = MONDAY + timedelta(days=2)  # a week after Ana's call
        scheduling.plan_day(conn, cfg, wednesday, "i")
        (call,) = calls_db.on_day(conn, wednesday)
        assert (call.person_id, call.kind) == (ana, "follow_up")
        assert calls_db.update_wins(conn, call.id) == ["an interview"]
        assert ben not in {u.person_id for u in planning_db.pending_updates(conn)}
