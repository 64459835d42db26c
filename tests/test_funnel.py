"""The funnel per topic in `report` (text, --json, HTML): planned → reached → referrals →
talks with referred people → wins, the referral yield, the share of outcomes written within
48 h, and the note lines syncsvc did not understand — charts checked in headless Chromium."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncsvc import report
from syncsvc.app import App
from syncsvc.store import people as people_db
from tests.cli_helper import run_cli
from tests.test_report import CHROMIUM, _call, _chromium, _console_errors, _png_pixels


def _outcome_at(conn: Any, call_id: str, hours_after_end: float) -> None:
    end = conn.execute("SELECT end_at FROM calls WHERE id = ?", (call_id,)).fetchone()[0]
    at = datetime.fromisoformat(end) + timedelta(hours=hours_after_end)
    conn.execute("UPDATE calls SET outcome_at = ? WHERE id = ?", (at.isoformat(), call_id))


def populate(app: App) -> None:
    """Two topics: 'policy' from 2 Nov, 'grid storage' from 16 Nov. Under policy: 4 calls,
    3 reached, one with 2 referrals; under grid storage: 3 calls to the referred, 2 reached,
    one win; one call before any topic."""
    with app.store.tx() as conn:
        conn.execute("INSERT INTO topics(text, set_at) VALUES ('policy', '2026-11-02T06:00:00')")
        conn.execute(
            "INSERT INTO topics(text, set_at) VALUES ('grid <storage>', '2026-11-16T06:00:00')"
        )
        ids = [people_db.add(conn, name=f"P{i}", source="manual") for i in range(5)]
        early = _call(conn, ids[0], date(2026, 10, 26), "done")
        _outcome_at(conn, early, 1)
        a = _call(conn, ids[0], date(2026, 11, 3), "done")
        _outcome_at(conn, a, 2)
        b = _call(conn, ids[1], date(2026, 11, 4), "done")
        _outcome_at(conn, b, 50)  # written late
        c = _call(conn, ids[2], date(2026, 11, 5), "done")
        _outcome_at(conn, c, 47)
        _call(conn, ids[3], date(2026, 11, 6), "missed")  # nothing written
        r1 = people_db.add(conn, name="Ref One", source="referral", referred_by=ids[0])
        r2 = people_db.add(conn, name="Ref Two", source="referral", referred_by=ids[0])
        r3 = people_db.add(conn, name="Ref Three", source="referral", referred_by=ids[1])
        for r in (r1, r2):
            conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (a, r))
        w = _call(conn, r1, date(2026, 11, 17), "done", kind="referral")
        _outcome_at(conn, w, 3)
        conn.execute("INSERT INTO wins(call_id, text) VALUES (?, 'an interview')", (w,))
        x = _call(conn, r2, date(2026, 11, 18), "done", kind="referral")
        _outcome_at(conn, x, 3)
        _call(conn, r3, date(2026, 11, 19), "no_answer", kind="referral")
        _call(conn, ids[4], date(2026, 11, 27), "planned")  # today: not due yet
        conn.execute(
            "INSERT INTO calendar_events(calendar, call_id, uid, state, receipt) "
            "VALUES ('vdir', ?, 'u1', 'written', ?)",
            (
                x,
                "--- syncsvc read this ---\noutcome: done\nnot understood: folow up nxt week\n"
                "not understood: <b>ref</b> ???",
            ),
        )


def test_the_funnel_per_topic(app: App) -> None:
    populate(app)
    data = report.collect(app)
    by_topic = {f["topic"]: f for f in data["funnel"]}
    assert list(by_topic) == [None, "policy", "grid <storage>"]
    policy = by_topic["policy"]
    assert (
        policy["planned"],
        policy["reached"],
        policy["referrals"],
        policy["referred_conversations"],
        policy["wins"],
    ) == (4, 3, 2, 0, 0)
    assert policy["referral_yield"] == round(2 / 3, 3)
    assert policy["outcome_within_48h"] == 0.5  # 2 of 4: one late, one missed
    grid = by_topic["grid <storage>"]
    assert (
        grid["planned"],
        grid["reached"],
        grid["referrals"],
        grid["referred_conversations"],
        grid["wins"],
    ) == (4, 2, 0, 2, 1)
    # the no-answer has no outcome_at written in time; today's planned call is not due yet
    assert grid["outcome_within_48h"] == round(2 / 3, 3)
    assert data["not_understood"] == [
        {
            "call_id": data["not_understood"][0]["call_id"],
            "date": "2026-11-18",
            "person": "Ref Two",
            "lines": ["folow up nxt week", "<b>ref</b> ???"],
        }
    ]


def test_report_shows_the_funnel_in_text_and_json(app: App, tmp_path: Path) -> None:
    populate(app)
    text = report.render_text(report.collect(app))
    assert "Funnel per topic" in text
    assert "  policy: 4 planned → 3 reached → 2 referrals → 0 talks with referred people" in text
    assert "referrals per conversation: 0.67   outcome written within 48 h: 50%" in text
    assert "2026-11-18  Ref Two: folow up nxt week" in text
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'data_dir = "{app.config.data_dir}"\n[calls]\ntimezone = "Europe/Berlin"\n')
    app.close()
    out = run_cli(["--config", str(cfg), "report", "--json"])
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    assert [f["topic"] for f in got["funnel"]] == [None, "policy", "grid <storage>"]
    assert got["not_understood"][0]["lines"][0] == "folow up nxt week"


def test_the_html_funnel_escapes_and_draws_one_chart_per_topic(app: App) -> None:
    populate(app)
    page = report.render_html(report.collect(app))
    assert 'id="funnel"' in page and 'id="not-understood"' in page
    assert "grid &lt;storage&gt;" in page and "grid <storage>" not in page
    assert "&lt;b&gt;ref&lt;/b&gt; ???" in page
    assert page.count('aria-label="Funnel for ') == 3


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install chromium); the funnel charts "
    "are not rendered in a browser",
)
def test_the_funnel_charts_render_in_headless_chromium(app: App, tmp_path: Path) -> None:
    populate(app)
    page = report.write_html(report.collect(app), tmp_path / "report.html")
    shot = tmp_path / "funnel.png"
    result = _chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1200,2400")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console_errors(result.stderr) == [], result.stderr
    _w, _h, rows = _png_pixels(shot)
    wanted = {bytes.fromhex(c[1:]): i for i, c in enumerate(report.FUNNEL_COLORS)}
    counts = [0] * len(report.FUNNEL_COLORS)
    for row in rows:
        for x in range(0, len(row), 3):
            i = wanted.get(row[x : x + 3])
            if i is not None:
                counts[i] += 1
    # planned, reached, referrals, talks with referred people and wins are all drawn
    assert all(n > 100 for n in counts), counts
    dom = _chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert dom.returncode == 0 and 'id="funnel"' in dom.stdout
    assert dom.stdout.count('aria-label="Funnel for ') == 3


def test_the_time_an_outcome_was_written_is_kept_once(app: App) -> None:
    from syncsvc.store import calls as calls_db

    def outcome_at(conn: Any, call: str) -> str | None:
        row = conn.execute("SELECT outcome_at FROM calls WHERE id = ?", (call,)).fetchone()
        return row[0]

    with app.store.tx() as conn:
        pid = people_db.add(conn, name="Q", source="manual")
        call = _call(conn, pid, date(2026, 11, 26), "planned")
        assert outcome_at(conn, call) is None
        calls_db.set_outcome(conn, call, "no_answer")
        first = outcome_at(conn, call)
        assert first is not None
        calls_db.set_outcome(conn, call, "done")
        assert outcome_at(conn, call) == first
