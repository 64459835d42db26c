"""Why this person, today: every call carries one line saying why it was picked — in the
event, in `plan` output and in `calls --json` — built from the store's facts by the pure
``planner.reason``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from syncsvc import planner
from syncsvc.app import App
from syncsvc.clock import FixedClock
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from tests.cli_helper import run_cli
from tests.conftest import BERLIN, add_people
from tests.flow_phones import VdirPhone

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "config" / "sample-contacts.vcf"
DAY = date(2026, 12, 2)


def why(kind: str, **facts: object) -> str:
    pick = planner.Pick(1, kind, origin_call="o" if kind in ("follow_up", "retry") else None)
    return planner.reason(pick, planner.WhyFacts(**facts), DAY)  # type: ignore[arg-type]


def test_each_lane_says_why_in_words() -> None:
    assert why("referral", referrer="Ada", referred_on=date(2026, 12, 2)) == (
        "referred by Ada on 2 Dec"
    )
    assert why("follow_up", origin_day=date(2026, 11, 12)) == "follow-up you asked for on 12 Nov"
    assert why("retry", origin_day=date(2026, 11, 30), origin_outcome="no_answer") == (
        "no answer on Monday, second try"
    )
    assert why("rotation", last_contacted=date(2019, 5, 1)) == (
        "not spoken since 2019 — people you haven't talked to in years often know the most "
        "about openings"
    )
    assert why("retry", origin_day=date(2026, 11, 27), origin_outcome="missed", origin_depth=1) == (
        "nothing written on Friday, third try"
    )
    assert why("retry", origin_day=date(2026, 11, 27), origin_outcome="rescheduled") == (
        "you moved it here from Friday"
    )
    assert why("rotation") == planner.ROTATION_NEVER
    assert why("rotation", last_contacted=date(2026, 10, 12)).startswith("last spoken on 12 Oct")
    thanks = planner.reason(
        planner.Pick(1, "follow_up", win_call="w"),
        planner.WhyFacts(win_person="Bo", win_day=date(2026, 12, 1), win_text="job offer"),
        DAY,
    )
    assert thanks == "thank you: your referral led to a win (job offer; with Bo on 1 Dec)"


def test_a_referral_says_who_referred_them_in_the_event(
    make_app: Callable[..., App], clock: FixedClock
) -> None:
    app = make_app(calls={"per_day": 1})
    add_people(app, 3)
    phone = VdirPhone(app.config.calendar_path)
    (first,) = app.plan()
    assert first.reason == planner.ROTATION_NEVER
    assert f"Why today: {planner.ROTATION_NEVER}" in phone.event(first.id).description
    phone.write(first.id, "done\nref: Jane Roe <jane@example.org>")
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN))
    app.sync()
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN))
    (jane,) = app.plan()
    assert jane.person_name == "Jane Roe"
    assert jane.reason == f"referred by {first.person_name} on 27 Nov"
    app.sync()
    assert f"Why today: referred by {first.person_name} on 27 Nov" in (
        phone.event(jane.id).description
    )
    got = calls_db.get(app.store.conn, jane.id)
    assert got is not None and got.as_json()["reason"] == jane.reason
    # Jane's call leads to a win: the thank-you call to the one who referred her says so
    phone.write(jane.id, "done\nwin: an interview at Acme")
    clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=BERLIN))
    app.sync()
    thanks = [
        c
        for day in ("2026-12-07", "2026-12-08", "2026-12-09")
        for c in app.plan(date.fromisoformat(day))
        if c.person_id == first.person_id
    ]
    assert thanks and thanks[0].reason == (
        "thank you: your referral led to a win (an interview at Acme; with Jane Roe on 30 Nov)"
    )


def test_a_long_silence_is_the_rotations_reason(make_app: Callable[..., App]) -> None:
    app = make_app(calls={"per_day": 1})
    (pid,) = add_people(app, 1)
    with app.store.tx() as conn:
        conn.execute("UPDATE people SET last_contacted = '2019-03-04' WHERE id = ?", (pid,))
    (call,) = app.plan()
    assert call.reason.startswith("not spoken since 2019 — ")
    assert people_db.get(app.store.conn, pid) is not None


def test_plan_and_calls_show_the_reason(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\nper_day = 2\n'
    )
    assert run_cli(["--config", str(cfg), "import", str(SAMPLE)]).exit_code == 0
    out = run_cli(["--config", str(cfg), "plan", "--date", "2030-01-07", "--json"]).stdout
    planned = json.loads(out)
    assert [c["reason"] for c in planned] == [planner.ROTATION_NEVER] * 2
    table = run_cli(["--config", str(cfg), "plan", "--date", "2030-01-07"]).stdout
    assert "why" in table and "never" in table  # a table's column may wrap its words
    calls = json.loads(run_cli(["--config", str(cfg), "calls", "--json"]).stdout)
    assert {c["reason"] for c in calls} == {planner.ROTATION_NEVER}
