"""Who gets called, and when: lanes, rotation fairness, slots, DST, idempotence."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncsvc import config as config_mod
from syncsvc import planner, scheduling
from syncsvc.store import Store
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db


def calls_cfg(**kw: Any) -> config_mod.CallsConfig:
    return config_mod.build({"calls": {"timezone": "Europe/Berlin", **kw}}, None).calls


def store_with(n: int) -> tuple[Store, list[int]]:
    store = Store.memory()
    with store.tx() as conn:
        ids = [people_db.add(conn, name=f"Person {i:03d}", source="manual") for i in range(n)]
    return store, ids


def plan(store: Store, cfg: config_mod.CallsConfig, day: date) -> list[calls_db.Call]:
    with store.tx() as conn:
        scheduling.plan_day(conn, cfg, day, store.install_id)
    return calls_db.on_day(store.conn, day)


def finish(store: Store, day: date, outcome: str = "done") -> None:
    with store.tx() as conn:
        for c in calls_db.on_day(conn, day):
            if c.outcome == "planned":
                calls_db.set_outcome(conn, c.id, outcome)


def test_a_simulated_month_is_fair_and_full() -> None:
    cfg = calls_cfg(per_day=3)
    store, ids = store_with(10)
    order: list[int] = []
    first = date(2026, 11, 2)  # a Monday
    for day in (first + timedelta(days=i) for i in range(31)):
        todays = plan(store, cfg, day)
        if day.weekday() >= 5:
            assert todays == [], "weekends are not planning days"
            continue
        assert len(todays) == 3
        assert len({c.person_id for c in todays}) == 3, "never the same person twice in a day"
        order += [c.person_id for c in sorted(todays, key=lambda c: c.start)]
        finish(store, day)
    # everyone comes round before anyone comes round twice
    for k in range(0, len(order) - 10, 10):
        assert sorted(order[k : k + 10]) == sorted(ids), f"round starting at call {k}"


def test_fewer_people_than_per_day_gives_fewer_calls_not_doubles() -> None:
    store, ids = store_with(2)
    todays = plan(store, calls_cfg(per_day=3), date(2026, 11, 30))
    assert sorted(c.person_id for c in todays) == sorted(ids)


def test_a_person_with_an_open_call_is_not_free() -> None:
    store, _ = store_with(4)
    cfg = calls_cfg(per_day=3)
    first = plan(store, cfg, date(2026, 11, 30))
    second = plan(store, cfg, date(2026, 12, 1))  # day one's calls are still open
    assert len(first) == 3
    assert len(second) == 1
    assert second[0].person_id not in {c.person_id for c in first}


def test_planning_the_same_day_again_changes_nothing() -> None:
    store, _ = store_with(20)
    cfg = calls_cfg(per_day=2)
    day = date(2026, 11, 30)
    first = plan(store, cfg, day)
    again = plan(store, cfg, day)
    assert [(c.id, c.person_id, c.start) for c in first] == [
        (c.id, c.person_id, c.start) for c in again
    ]
    assert store.conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 2


def test_rotation_ties_are_shuffled_not_alphabetical_but_stable() -> None:
    store, ids = store_with(40)
    with store.tx() as conn:
        picks = [p.person_id for p in scheduling.choose(conn, date(2026, 11, 30), 40)]
        again = [p.person_id for p in scheduling.choose(conn, date(2026, 11, 30), 40)]
    assert sorted(picks) == sorted(ids)
    assert picks == again, "stable order"
    assert picks != sorted(picks), "not alphabetical (ids follow the names here)"


def test_longest_since_last_contact_comes_first() -> None:
    store, ids = store_with(3)
    with store.tx() as conn:
        conn.execute("UPDATE people SET rotation_key = '00001:2026-01-01' WHERE id = ?", (ids[0],))
        conn.execute("UPDATE people SET rotation_key = '00001:2025-01-01' WHERE id = ?", (ids[1],))
        picks = [p.person_id for p in scheduling.choose(conn, date(2026, 11, 30), 3)]
    assert picks == [ids[2], ids[1], ids[0]]  # never called, then oldest contact


def test_lanes_follow_up_then_referral_then_retry_then_rotation() -> None:
    cfg = calls_cfg(per_day=3)
    store, ids = store_with(8)
    monday = date(2026, 11, 30)
    with store.tx() as conn:
        # a retry: no answer a week ago
        calls_db.insert(
            conn,
            call_id="c-retry",
            person_id=ids[0],
            day=monday - timedelta(days=7),
            start=datetime(2026, 11, 23, 17, tzinfo=cfg.zone),
            end=datetime(2026, 11, 23, 17, 20, tzinfo=cfg.zone),
            tz=cfg.timezone,
            kind="rotation",
        )
        calls_db.set_outcome(conn, "c-retry", "no_answer")
        # a follow-up due today
        calls_db.insert(
            conn,
            call_id="c-fu",
            person_id=ids[1],
            day=monday - timedelta(days=14),
            start=datetime(2026, 11, 16, 17, tzinfo=cfg.zone),
            end=datetime(2026, 11, 16, 17, 20, tzinfo=cfg.zone),
            tz=cfg.timezone,
            kind="rotation",
        )
        conn.execute(
            "UPDATE calls SET outcome = 'done', follow_up = ? WHERE id = 'c-fu'",
            (monday.isoformat(),),
        )
        # a referral, never called
        referral = people_db.add(conn, name="New Referral", source="referral", referred_by=ids[1])
    todays = plan(store, cfg, monday)
    kinds = {c.person_id: c.kind for c in todays}
    assert kinds == {ids[1]: "follow_up", referral: "referral", ids[0]: "retry"}
    by_id = {c.person_id: c for c in todays}
    assert by_id[ids[1]].origin_call == "c-fu"
    assert by_id[ids[0]].origin_call == "c-retry"
    # the follow-up is planned once only
    tuesday = plan(store, cfg, monday + timedelta(days=1))
    assert all(c.kind == "rotation" for c in tuesday)


def test_a_fresh_no_answer_waits_a_few_days() -> None:
    cfg = calls_cfg(per_day=1, retry_after_days=[2, 4])
    store, _ids = store_with(1)
    monday = date(2026, 11, 30)
    plan(store, cfg, monday)
    finish(store, monday, "no_answer")
    assert plan(store, cfg, monday + timedelta(days=1)) == []
    wednesday = plan(store, cfg, monday + timedelta(days=2))
    assert [c.kind for c in wednesday] == ["retry"]


def test_the_default_cadence_retries_after_3_then_7_planning_days() -> None:
    """[calls] retry_after_days = [3, 7]: Monday's no-answer is tried again on Thursday;
    Thursday's no-answer 7 planning days later (the Monday after next); after that the
    person goes back to the rotation."""
    cfg = calls_cfg(per_day=1)
    assert cfg.retry_after_days == (3, 7)
    store, _ids = store_with(1)
    day = date(2026, 11, 30)  # a Monday
    got: list[tuple[date, str, str]] = []
    for _ in range(40):
        for c in plan(store, cfg, day):
            got.append((c.day, c.kind, c.reason))
        finish(store, day, "no_answer")
        day += timedelta(days=1)
    assert [(d, k) for d, k, _ in got[:4]] == [
        (date(2026, 11, 30), "rotation"),
        (date(2026, 12, 3), "retry"),  # Thursday: 3 planning days after Monday
        (date(2026, 12, 14), "retry"),  # 7 planning days after Thursday
        (date(2026, 12, 23), "rotation"),  # no retry left: the rotation, 7 planning days on
    ]
    assert got[1][2] == "no answer on Monday, second try"
    assert got[2][2] == "no answer on Thursday, third try"


def test_retries_stop_after_two_in_a_row() -> None:
    cfg = calls_cfg(
        per_day=1, days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], retry_after_days=[2, 3]
    )
    store, _ids = store_with(1)
    day = date(2026, 11, 30)
    kinds = []
    for _ in range(12):
        todays = plan(store, cfg, day)
        kinds += [c.kind for c in todays]
        finish(store, day, "no_answer")
        day += timedelta(days=1)
    assert kinds.count("retry") <= 2 * kinds.count("rotation")
    assert "rotation" in kinds[1:], "back to the rotation after two failed retries"


def test_slots_lie_inside_the_window() -> None:
    cfg = calls_cfg(per_day=3, window="17:00-19:00", duration_minutes=20)
    got = planner.slots(cfg, date(2026, 11, 30))
    assert [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in got] == [
        ("17:00", "17:20"),
        ("17:40", "18:00"),
        ("18:20", "18:40"),
    ]
    tight = calls_cfg(per_day=3, window="17:00-17:45", duration_minutes=30)
    for start, end in planner.slots(tight, date(2026, 11, 30)):
        assert time(17) <= start.time() and end.time() <= time(17, 45)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/Berlin", date(2026, 3, 29)),  # spring forward
        ("Europe/Berlin", date(2026, 10, 25)),  # fall back
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
    ],
)
def test_dst_days_keep_calls_in_the_window(zone: str, day: date) -> None:
    cfg = calls_cfg(timezone=zone, days=["sun"], per_day=3)
    for start, end in planner.slots(cfg, day):
        assert start.tzinfo == ZoneInfo(zone)
        assert start.date() == day
        assert time(17) <= start.time() < end.time() <= time(19)
        assert (end - start) == timedelta(minutes=20)


def test_a_window_time_in_the_dst_gap_moves_to_the_next_valid_time() -> None:
    cfg = calls_cfg(window="02:30-04:00", per_day=1, days=["sun"])
    ((start, end),) = planner.slots(cfg, date(2026, 3, 29))
    assert start.strftime("%H:%M %Z") == "03:00 CEST"
    assert end.strftime("%H:%M") == "03:20"


def test_after_todays_window_planning_starts_tomorrow() -> None:
    cfg = calls_cfg()
    berlin = ZoneInfo("Europe/Berlin")
    friday = date(2026, 11, 27)
    assert planner.first_day_to_plan(cfg, datetime(2026, 11, 27, 9, tzinfo=berlin)) == friday
    assert planner.first_day_to_plan(cfg, datetime(2026, 11, 27, 19, 5, tzinfo=berlin)) == date(
        2026, 11, 30
    )
    assert planner.first_day_to_plan(cfg, datetime(2026, 11, 28, 9, tzinfo=berlin)) == date(
        2026, 11, 30
    )


def not_free(store: Store, cfg: config_mod.CallsConfig, day: date) -> set[int]:
    """Who the planner may not call on ``day``, as README ("Where the contract was silent")
    defines it: people with an open call or a call that day, and people awaiting a retry —
    their last call not reached (no answer, missed) within ``retry_after_days[-1]`` planning
    days — unless that retry is due (the retry lane calls them). Everyone else is free.
    Computed here from the calls alone, not with the store's planning queries."""
    rows = store.conn.execute("SELECT id, person_id, day, outcome, kind, origin_call FROM calls")
    calls = {r[0]: r for r in rows.fetchall()}
    last: dict[int, tuple[Any, ...]] = {}
    for c in calls.values():
        if c[1] not in last or c[2] > last[c[1]][2]:
            last[c[1]] = c

    def depth(c: tuple[Any, ...]) -> int:
        n = 0
        while c is not None and c[4] == "retry" and n <= len(cfg.retry_after_days):
            n += 1
            c = calls.get(c[5])  # type: ignore[assignment]
        return n

    out = {c[1] for c in calls.values() if c[3] == "planned" or c[2] == day.isoformat()}
    window = planner.planning_days_before(cfg, day, cfg.retry_after_days[-1]).isoformat()
    for person, c in last.items():
        if c[3] not in ("no_answer", "missed") or c[2] <= window:
            continue
        k = depth(c)
        due = k < len(cfg.retry_after_days) and c[2] <= (
            planner.planning_days_before(cfg, day, cfg.retry_after_days[k]).isoformat()
        )
        if not due:
            out.add(person)
    return out


def test_a_person_awaiting_a_retry_is_not_free_so_a_day_gets_fewer_calls() -> None:
    """Issue 15: 3 people, per_day = 2, Monday's two calls missed. Until their retry (Thursday,
    3 planning days on) those two are not free: Tuesday and Wednesday get exactly 1 call;
    Thursday the 2 retries; once a retry reached them they are free again (Friday: 2 calls)."""
    cfg = calls_cfg(per_day=2)
    store, ids = store_with(3)
    monday = date(2026, 11, 30)
    first = plan(store, cfg, monday)
    finish(store, monday, "missed")
    missed = {c.person_id for c in first}
    (other,) = set(ids) - missed
    got: list[tuple[int, ...]] = []
    for day in (monday + timedelta(days=i) for i in range(1, 5)):
        free = len(ids) - len(not_free(store, cfg, day))
        todays = plan(store, cfg, day)
        assert len(todays) == min(cfg.per_day, free)
        got.append(tuple(sorted(c.person_id for c in todays)))
        finish(store, day, "done")
    assert got[0] == got[1] == (other,)  # Tuesday, Wednesday: exactly 1 call
    assert got[2] == tuple(sorted(missed))  # Thursday: both retries
    kinds = [c.kind for c in calls_db.on_day(store.conn, monday + timedelta(days=3))]
    assert kinds == ["retry", "retry"]
    assert len(got[3]) == 2  # Friday: reached on Thursday, free again


@settings(max_examples=60, deadline=None)
@given(
    n_people=st.integers(min_value=0, max_value=12),
    per_day=st.integers(min_value=1, max_value=3),
    outcomes=st.lists(
        st.sampled_from(["done", "no_answer", "skipped", "missed", "planned"]),
        min_size=10,
        max_size=10,
    ),
)
def test_invariants_hold_whatever_happens(n_people: int, per_day: int, outcomes: list[str]) -> None:
    cfg = calls_cfg(per_day=per_day)
    store, _ = store_with(n_people)
    day = date(2026, 11, 30)
    for outcome in outcomes:
        while not planner.is_planning_day(cfg, day):
            day += timedelta(days=1)
        free = n_people - len(not_free(store, cfg, day))
        todays = plan(store, cfg, day)
        # the promise: per_day calls whenever that many people are free
        assert len(todays) == min(per_day, free), day
        assert len(todays) <= per_day
        assert len({c.person_id for c in todays}) == len(todays)
        if outcome != "planned":
            finish(store, day, outcome)
        day += timedelta(days=1)
    open_per_person = Counter(
        r[0] for r in store.conn.execute("SELECT person_id FROM calls WHERE outcome = 'planned'")
    )
    assert all(v == 1 for v in open_per_person.values())
