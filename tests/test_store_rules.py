"""The product's rules as the store keeps them (applying notes, referrals, wins, offers, moved,
deleted and missed calls), and the planner as a pure function of hand-made facts."""

from __future__ import annotations

import ast
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
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


# ------------------------------------------------------------------ the pure planner
def test_the_planner_module_touches_no_database() -> None:
    source = Path(planner.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported |= {f"{node.module}.{a.name}" for a in node.names}
    forbidden = ("sqlite3", "syncsvc.store", "syncsvc.calendars", "syncsvc.contacts")
    assert not [m for m in imported if m.startswith(forbidden)]


def test_hand_made_facts_plan_a_day_without_a_database() -> None:
    cfg = calls_cfg(per_day=3)
    facts = planner.PlanningFacts(
        day=MONDAY,
        follow_ups=(planner.Due(7, "c-fu"),),
        updates=(planner.Due(7, "c-win"), planner.Due(8, "c-win")),  # 7 is taken already
        referrals=(9,),
        retries=(planner.RetryCandidate(10, "c-retry", depth=0),),
        rotation=(11, 12),
        not_free=frozenset({8}),  # has an open call
    )
    new = planner.plan_day(cfg, facts, "inst", busy=None)
    assert [(n.pick.person_id, n.pick.kind) for n in new] == [
        (7, "follow_up"),
        (9, "referral"),
        (10, "retry"),
    ]
    assert new[0].pick.origin_call == "c-fu"
    assert [n.call_id for n in new] == [f"inst-20261130-{p}" for p in (7, 9, 10)]
    assert [n.start for n in new] == [s for s, _ in planner.slots(cfg, MONDAY)]
    assert all(n.day == MONDAY for n in new)


def test_the_pure_planner_skips_deep_retries_and_taken_slots() -> None:
    cfg = calls_cfg(per_day=2)
    first = planner.slots(cfg, MONDAY)[0]
    facts = planner.PlanningFacts(
        day=MONDAY,
        taken=(first,),  # one call planned already: one more wanted
        retries=(planner.RetryCandidate(1, "c1", depth=2),),
        rotation=(2, 3),
    )
    (new,) = planner.plan_day(cfg, facts, "inst")
    assert (new.pick.person_id, new.pick.kind) == (2, "rotation")
    assert new.start != first[0]
    assert planner.plan_day(cfg, planner.PlanningFacts(day=MONDAY, taken=(first, first)), "i") == []
    assert planner.plan_day(cfg, planner.PlanningFacts(day=date(2026, 12, 5)), "i") == []  # Sat


def test_an_update_pick_carries_its_win() -> None:
    facts = planner.PlanningFacts(day=MONDAY, updates=(planner.Due(4, "c-win"),))
    (pick,) = planner.choose(facts, 1)
    assert (pick.person_id, pick.kind, pick.win_call, pick.origin_call) == (
        4,
        "follow_up",
        "c-win",
        None,
    )


def test_retry_day_and_slot_are_pure() -> None:
    cfg = calls_cfg(per_day=3)
    tuesday = MONDAY + timedelta(days=1)
    assert planner.retry_day(cfg, MONDAY, {MONDAY, tuesday}) == tuesday + timedelta(days=1)
    options = planner.slots(cfg, MONDAY)
    new = planner.retry_call(cfg, "inst", 5, "c-origin", MONDAY, {options[0][0]})
    assert (new.start, new.end) == options[1]
    assert (new.pick.kind, new.pick.origin_call) == ("retry", "c-origin")
    full = planner.retry_call(cfg, "inst", 5, "c-origin", MONDAY, {s for s, _ in options})
    assert (full.start, full.end) == options[0]  # every slot taken: the first one


# ------------------------------------------------------------------ the store's rules
@pytest.fixture
def store() -> Store:
    return Store.memory()


def add_call(
    conn: sqlite3.Connection, person_id: int, day: date = MONDAY, call_id: str | None = None
) -> calls_db.Call:
    cid = call_id or f"c-{person_id}-{day:%m%d}"
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
    call = calls_db.get(conn, cid)
    assert call is not None
    return call


def test_applying_notes_records_everything_once(store: Store) -> None:
    with store.tx() as conn:
        known = people_db.add(conn, name="Known Person", source="manual")
        people_db.add_address(conn, known, "email", "k@example.org", "k@example.org")
        callee = people_db.add(conn, name="Callee", source="manual")
        call = add_call(conn, callee)
        notes = notes_db.Notes(
            outcome="done",
            text="done\nref: Known <k@example.org>\nref: Jane New",
            digest="d1",
            follow_up=MONDAY + timedelta(days=14),
            referrals=[
                notes_db.Referral("Known", emails=[("k@example.org", "k@example.org")]),
                notes_db.Referral("Jane New", phones=[("+49 30 1234567", "+49301234567")]),
            ],
            offers=["an intro to Bob"],
            wins=[],
        )
        for _ in range(2):  # the same notes again change nothing
            notes_db.apply_notes(conn, call, notes, NOW)
        after = calls_db.get(conn, call.id)
        assert after is not None
        assert (after.outcome, after.notes_hash, after.follow_up) == (
            "done",
            "d1",
            MONDAY + timedelta(days=14),
        )
        assert after.referrals == ["Known Person", "Jane New"]
        assert after.offers == ["an intro to Bob"]
        jane = people_db.find(conn, "+49301234567")
        assert [p.name for p in jane] == ["Jane New"]
        assert people_db.get(conn, known) is not None
        assert (
            conn.execute("SELECT referred_by FROM people WHERE id = ?", (known,)).fetchone()[0]
            == callee
        )
        assert people_db.get(conn, callee).last_contacted == MONDAY.isoformat()  # type: ignore[union-attr]
        assert people_db.count(conn) == 3


def test_a_referral_names_a_known_person_without_replacing_their_referrer(store: Store) -> None:
    with store.tx() as conn:
        first = people_db.add(conn, name="First", source="manual")
        second = people_db.add(conn, name="Second", source="manual")
        ann = people_db.add(conn, name="Ann Roe", source="referral", referred_by=first)
        got = notes_db.referred_person(conn, notes_db.Referral("Ann Roe"), second)
        assert got == ann
        assert (
            conn.execute("SELECT referred_by FROM people WHERE id = ?", (ann,)).fetchone()[0]
            == first
        )
        # naming oneself adds no loop
        assert notes_db.referred_person(conn, notes_db.Referral("Second"), second) == second
        assert people_db.referral_chain(conn, second) == [second]


def test_a_win_queues_an_update_for_the_people_up_the_referral_chain(store: Store) -> None:
    with store.tx() as conn:
        a = people_db.add(conn, name="A", source="manual")
        b = people_db.add(conn, name="B", source="referral", referred_by=a)
        c = people_db.add(conn, name="C", source="referral", referred_by=b)
        call = add_call(conn, c)
        win = notes_db.Notes(outcome="done", text="done\nwin: a job", digest="w", wins=["a job"])
        applied = notes_db.apply_notes(conn, call, win, NOW)
        updates = planning_db.pending_updates(conn)
        # the chain, by id; not C: the win is hers and she was just on the phone (issue 13)
        assert [u.person_id for u in updates] == [a, b]
        assert {u.call_id for u in updates} == {call.id}
        assert applied.updates == [b, a]  # nearest first


def test_close_offer_takes_it_off_the_open_list(store: Store) -> None:
    with store.tx() as conn:
        p = people_db.add(conn, name="P", source="manual")
        call = add_call(conn, p)
        offer = notes_db.Notes(outcome="done", text="x", digest="o", offers=["intro", "book"])
        notes_db.apply_notes(conn, call, offer, NOW)
        first, second = calls_db.offers_open(conn, p)
        assert (first.person_name, first.text) == ("P", "intro")
        assert calls_db.close_offer(conn, first.id, NOW) is True
        assert calls_db.close_offer(conn, first.id, NOW) is False  # closed already
        assert calls_db.offers_open(conn) == [second]


def test_missed_deleted_and_moved(store: Store) -> None:
    with store.tx() as conn:
        p, q = (people_db.add(conn, name=n, source="manual") for n in ("P", "Q"))
        old = add_call(conn, p)
        assert calls_db.mark_missed(conn, old.end - timedelta(minutes=1)) == 0
        assert calls_db.mark_missed(conn, old.end) == 1
        assert calls_db.get(conn, old.id).outcome == "missed"  # type: ignore[union-attr]

        gone = add_call(conn, q, MONDAY + timedelta(days=1))
        calls_db.upsert_event_state(conn, "cal", gone.id, "uid-q", state="written", etag="e")
        assert calls_db.event_deleted(conn, "cal", "uid-q") == 1
        assert calls_db.event_deleted(conn, "cal", "uid-q") == 0  # known deleted
        assert calls_db.event_deleted(conn, "cal", "unknown") == 0
        assert calls_db.get(conn, gone.id).outcome == "skipped"  # type: ignore[union-attr]

        later = add_call(conn, p, MONDAY + timedelta(days=3))
        new_start = later.start + timedelta(days=1, hours=1)
        calls_db.move(conn, later, new_start, new_start + timedelta(minutes=20))
        moved = calls_db.get(conn, later.id)
        assert moved is not None
        assert (moved.start, moved.day) == (new_start, new_start.date())
        # moved onto a day the person has a call already: the time moves, the day stays
        calls_db.move(conn, moved, old.start, old.end)
        clash = calls_db.get(conn, later.id)
        assert clash is not None
        assert (clash.start, clash.day) == (old.start, moved.day)


def test_facts_for_a_day_come_from_the_store(store: Store) -> None:
    cfg = calls_cfg(per_day=2)
    with store.tx() as conn:
        ids = [people_db.add(conn, name=f"P{i}", source="manual") for i in range(5)]
        busy = add_call(conn, ids[0], MONDAY + timedelta(days=7))  # open: not free
        facts = scheduling.facts(conn, MONDAY, 2)
        assert facts.not_free == {ids[0]}
        assert ids[0] not in facts.rotation
        assert len(facts.rotation) == planner.rotation_limit(2)
        assert facts.taken == ()
        scheduling.plan_day(conn, cfg, MONDAY, store.install_id)
        again = scheduling.facts(conn, MONDAY, 2)
        assert len(again.taken) == 2
        assert busy.id not in [c.id for c in calls_db.on_day(conn, MONDAY)]
