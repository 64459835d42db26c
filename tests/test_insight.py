"""The reads behind status and report (store/insight.py, store/snapshot.py) and the rules built
on them (insight.py) that the report and flow tests do not pin one by one: the streak over
weekends, thanked counts, never called, the two referral figures, open offers."""

from __future__ import annotations

from datetime import date

from syncsvc import insight
from syncsvc.app import App
from syncsvc.store import calls as calls_db
from syncsvc.store import insight as insight_db
from syncsvc.store import people as people_db
from syncsvc.store import snapshot
from tests.test_report import _call

MON, TUE, WED, THU, FRI = (date(2026, 11, d) for d in range(23, 28))
WEEKDAYS = frozenset(range(5))


def test_streak_skips_days_off_and_waits_for_today() -> None:
    done = {date(2026, 11, 19), date(2026, 11, 20), MON, TUE, WED, THU}
    # Friday not done yet: the streak holds; the weekend is no planning day
    assert insight.streak(done, FRI, WEEKDAYS) == 6
    assert insight.streak(done | {FRI}, FRI, WEEKDAYS) == 7
    assert insight.streak(done - {TUE}, FRI, WEEKDAYS) == 2  # Wed and Thu
    assert insight.streak(set(), FRI, WEEKDAYS) == 0
    # a planning day on Saturday that was not done breaks it
    assert insight.streak(done, FRI, WEEKDAYS | {5}) == 4


def test_counts_done_days_never_called_and_the_two_referral_figures(app: App) -> None:
    with app.store.tx() as conn:
        a = people_db.add(conn, name="A", source="manual")
        b = people_db.add(conn, name="B", source="manual", referred_by=a)
        c = people_db.add(conn, name="C", source="manual")
        people_db.add(conn, name="Never", source="manual")
        call = _call(conn, a, MON, "done")
        _call(conn, b, WED, "done")
        _call(conn, c, FRI, "no_answer")
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (call, c))
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (call, b))
    conn = app.store.conn
    assert insight_db.done_between(conn, MON, WED) == 2  # both ends included
    assert insight_db.done_between(conn, TUE, FRI) == 1
    assert insight_db.done_days(conn, TUE) == {MON}
    assert insight_db.never_called(conn) == 1
    # status counts referrals noted in calls; the report counts people who came by referral
    assert insight_db.referrals_noted(conn) == 2
    assert insight_db.people_referred(conn) == 2  # B twice (noted and --referred-by), C
    assert insight_db.outcome_totals(conn) == {"done": 2, "no_answer": 1}
    assert insight_db.outcomes_by_day(conn, TUE, FRI) == [(WED, "done", 1)]


def test_referrers_leave_out_a_self_referral_and_names_an_unknown_id(app: App) -> None:
    with app.store.tx() as conn:
        a = people_db.add(conn, name="A", source="manual")
        b = people_db.add(conn, name="B", source="manual", referred_by=a)
        conn.execute("UPDATE people SET referred_by = id WHERE id = ?", (a,))
    assert insight_db.referrers(app.store.conn) == {b: a}
    assert insight_db.names(app.store.conn, [b, a, b, 999]) == {a: "A", b: "B"}


def test_wins_chains_thanked_and_open_offers(app: App) -> None:
    with app.store.tx() as conn:
        a = people_db.add(conn, name="A", source="manual")
        b = people_db.add(conn, name="B", source="manual", referred_by=a)
        win_call = _call(conn, b, TUE, "done")
        early = _call(conn, a, MON, "done")
        conn.execute("INSERT INTO wins(call_id, text) VALUES (?, ?)", (win_call, "the job"))
        for person, day, outcome in ((a, WED, "done"), (b, THU, "no_answer")):
            update = _call(conn, person, day, outcome, kind="follow_up")
            conn.execute(
                "INSERT INTO updates(win_call, person_id, call_id) VALUES (?, ?, ?)",
                (win_call, person, update),
            )
        for call, text, done in ((win_call, "later call", None), (early, "earlier", None),
                                 (early, "given", "2026-11-24")):  # fmt: skip
            conn.execute(
                "INSERT INTO offers(call_id, person_id, text, done_at) VALUES (?, ?, ?, ?)",
                (call, a, text, done),
            )
    conn = app.store.conn
    assert insight_db.thanked(conn) == {win_call: 1}  # the update call not done is not counted
    (win,) = insight.wins(conn, insight.People.read(conn).parent)
    assert (win.text, win.chain_ids, win.thanked) == ("the job", [a, b], 1)
    assert app.wins() == [
        {
            "call_id": win_call,
            "date": "2026-11-24",
            "text": "the job",
            "chain": ["B", "A"],
            "thanked": 1,
        }
    ]
    offers = calls_db.offers_open(conn)
    assert [(o.text, o.day.isoformat()) for o in offers] == [("later call", "2026-11-24"),
                                                             ("earlier", "2026-11-23")]  # fmt: skip
    # status lists them as noted; the report by the day of their call
    assert [o["text"] for o in app.status()["open_offers"]] == ["later call", "earlier"]
    assert [o["text"] for o in insight.report(conn, FRI, app.config.calls)["open_offers"]] == [
        "earlier",
        "later call",
    ]


def test_snapshot_reads_every_table_and_leaves_no_transaction_open(app: App) -> None:
    with app.store.tx() as conn:
        people_db.add(conn, name="A", source="manual")
        people_db.set_topic(conn, "grid storage")
    snap = snapshot.read(app.store.conn)
    assert set(snap.tables) == set(snapshot.TABLES)
    assert [p["name"] for p in snap.tables["people"]] == ["A"]
    assert [t["text"] for t in snap.tables["topics"]] == ["grid storage"]
    assert snap.install_id == app.store.install_id
    assert not app.store.conn.in_transaction
