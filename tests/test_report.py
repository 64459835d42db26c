"""The progress report: numbers from the store, the terminal summary, an HTML page that escapes
every name and loads nothing, and that page rendered in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from syncsvc import insight, report
from syncsvc.app import App
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from tests.cli_helper import run_cli
from tests.conftest import BERLIN

CHROMIUM = Path("/usr/bin/chromium")
EVIL_NAME = "<script>alert('name')</script><img src=x onerror=alert(1)>"
EVIL_ORG = '"><svg onload=alert(2)>'
EVIL_OFFER = "</td></tr></table><script>alert(3)</script>"
EVIL_WIN = "an interview at Acme <iframe src=//evil.example></iframe>"
TODAY = date(2026, 11, 27)  # the fixed clock's Friday
MONDAY = date(2026, 11, 23)


def _call(
    conn: Any,
    person: int,
    day: date,
    outcome: str,
    *,
    kind: str = "rotation",
    follow_up: date | None = None,
    origin: str | None = None,
) -> str:
    call_id = f"c-{person}-{day.isoformat()}"
    start = datetime.combine(day, time(17, 0), BERLIN)
    calls_db.insert(
        conn,
        call_id=call_id,
        person_id=person,
        day=day,
        start=start,
        end=start + timedelta(minutes=20),
        tz="Europe/Berlin",
        kind=kind,
        origin_call=origin,
    )
    calls_db.set_outcome(conn, call_id, outcome)
    if follow_up:
        conn.execute(
            "UPDATE calls SET follow_up = ? WHERE id = ?", (follow_up.isoformat(), call_id)
        )
    return call_id


def populate(app: App) -> dict[str, int]:
    """Eight weeks of calls; Alice → Bob → Carol with a win at Carol; an evil name; offers and
    follow-ups."""
    with app.store.tx() as conn:
        people_db.set_topic(conn, "climate <b>tech</b>")

        def add(name: str, weeks_ago: int, **kw: Any) -> int:
            pid = people_db.add(conn, name=name, source="manual", **kw)
            added = datetime.combine(MONDAY - timedelta(weeks=weeks_ago), time(9), UTC)
            conn.execute("UPDATE people SET added_at = ? WHERE id = ?", (added.isoformat(), pid))
            return pid

        ids: dict[str, int] = {}
        ids["alice"] = add("Alice Anders", 7, org="Acme")
        ids["bob"] = add("Bob Brandt", 5, referred_by=ids["alice"])
        ids["carol"] = add("Carol Çelik", 3, referred_by=ids["bob"])
        ids["evil"] = add(EVIL_NAME, 2, org=EVIL_ORG, referred_by=ids["alice"])
        ids["dan"] = add("Dan\x1b[31m Red", 0)
        others = [add(f"Person {i}", 7 - i % 8) for i in range(12)]

        # a few calls a week, most done; every planning day of the last 3 weeks has one done
        outcomes = ["done", "done", "no_answer", "done", "missed", "done", "skipped"]
        n = 0
        for week in range(8):
            start = MONDAY - timedelta(weeks=7 - week)
            for k in range(week % 3 + 2):
                day = start + timedelta(days=k)
                if day >= TODAY:
                    continue
                _call(conn, others[n % 12], day, outcomes[n % len(outcomes)])
                n += 1
        for day in (date(2026, 11, 25), date(2026, 11, 26)):
            _call(conn, others[(n := n + 1) % 12], day, "done")
        a = _call(conn, ids["alice"], date(2026, 10, 20), "done", follow_up=date(2026, 11, 30))
        b = _call(conn, ids["bob"], date(2026, 11, 3), "done", follow_up=date(2026, 12, 4))
        c = _call(conn, ids["carol"], date(2026, 11, 19), "done")
        _call(conn, ids["alice"], date(2026, 11, 30), "planned", kind="follow_up", origin=a)
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (a, ids["bob"]))
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (b, ids["carol"]))
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (a, ids["evil"]))
        conn.execute(
            "INSERT INTO offers(call_id, person_id, text) VALUES (?, ?, ?)",
            (a, ids["alice"], "send her the article"),
        )
        conn.execute(
            "INSERT INTO offers(call_id, person_id, text) VALUES (?, ?, ?)",
            (b, ids["bob"], EVIL_OFFER),
        )
        conn.execute(
            "INSERT INTO offers(call_id, person_id, text, done_at) VALUES (?, ?, ?, ?)",
            (b, ids["bob"], "already done", "2026-11-10"),
        )
        conn.execute("INSERT INTO wins(call_id, text) VALUES (?, ?)", (c, EVIL_WIN))
    return ids


@pytest.fixture
def full(app: App) -> tuple[App, dict[str, int]]:
    return app, populate(app)


# ------------------------------------------------------------------------------- the numbers
def test_collect_counts_weeks_outcomes_referrals_and_wins(full: tuple[App, Any]) -> None:
    app, _ = full
    data = report.collect(app)
    assert data["date"] == "2026-11-27"
    assert data["topic"] == "climate <b>tech</b>"
    weeks = data["weeks"]
    assert weeks[0]["start"] == "2026-10-05"
    assert weeks[-1]["start"] == "2026-11-23" and len(weeks) == 8
    in_db = app.store.conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    # every call is inside the 8 weeks except the follow-up planned for next Monday
    assert sum(w["calls"] for w in weeks) == in_db - 1
    assert sum(data["outcomes"].values()) == in_db
    assert next(iter(data["outcomes"])) == "done"
    assert data["done_total"] == data["outcomes"]["done"]
    assert data["streak"] >= 3
    assert data["referrals"] == 3  # Bob, Carol and the evil one
    assert data["people"] == 17
    # list growth: cumulative at each week's end
    assert [w["people"] for w in weeks][-1] == 17
    assert sum(w["added"] for w in weeks) == 17
    assert weeks[0]["people"] == weeks[0]["added"]

    (win,) = data["wins"]
    assert win["chain"] == ["Alice Anders", "Bob Brandt", "Carol Çelik"]
    assert (win["person"], win["date"], win["text"]) == ("Carol Çelik", "2026-11-19", EVIL_WIN)

    (root,) = data["tree"]
    assert root["name"] == "Alice Anders" and root["in_win_chain"]
    bob, evil = root["children"]
    assert (bob["name"], evil["name"]) == ("Bob Brandt", EVIL_NAME)
    assert not evil["in_win_chain"]
    (carol,) = bob["children"]
    assert carol["wins"] == [EVIL_WIN]

    assert [o["text"] for o in data["open_offers"]] == ["send her the article", EVIL_OFFER]
    assert data["follow_ups"] == [
        {"date": "2026-11-30", "person": "Alice Anders", "from": "2026-10-20"},
        {"date": "2026-12-04", "person": "Bob Brandt", "from": "2026-11-03"},
    ]
    json.dumps(data)  # JSON-able as it is


def test_a_referral_cycle_still_shows_everyone(app: App) -> None:
    with app.store.tx() as conn:
        a = people_db.add(conn, name="A", source="manual")
        b = people_db.add(conn, name="B", source="manual", referred_by=a)
        conn.execute("UPDATE people SET referred_by = ? WHERE id = ?", (b, a))
    data = report.collect(app)
    (root,) = data["tree"]
    assert root["name"] == "A" and [c["name"] for c in root["children"]] == ["B"]
    assert insight.chain(a, {a: b, b: a}) == [b, a]


def test_terminal_summary(full: tuple[App, Any]) -> None:
    app, _ = full
    text = report.render_text(report.collect(app))
    assert "Progress report, 2026-11-27" in text
    assert "week of Oct  5" in text and "week of Nov 23" in text
    assert "Outcomes: done " in text
    assert "Alice Anders → Bob Brandt → Carol Çelik" in text
    assert "Open offers" in text and "send her the article" in text
    assert "2026-12-04  Bob Brandt (from the call on 2026-11-03)" in text
    assert "\x1b" not in text


def test_empty_store_reports_without_error(app: App) -> None:
    data = report.collect(app)
    assert data["outcomes"] == {} and data["tree"] == [] and data["wins"] == []
    assert "No calls yet" in report.render_text(data)
    page = report.render_html(data)
    assert "No calls in these weeks yet" in page and "No referrals yet" in page


# ------------------------------------------------------------------------------- the page
class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_every_name_and_loads_nothing(full: tuple[App, Any]) -> None:
    app, _ = full
    data = report.collect(app)
    page = report.render_html(data)
    for evil in (EVIL_NAME, EVIL_ORG, EVIL_OFFER, EVIL_WIN, "<b>tech</b>"):
        assert evil not in page
    parser = _Tags()
    parser.feed(page)
    tags = [t for t, _ in parser.tags]
    for forbidden in ("script", "img", "iframe", "link", "object", "embed", "base"):
        assert forbidden not in tags
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], tag
        assert "src" not in attrs and "href" not in attrs, tag
    # the evil texts are there, as text
    text = "".join(parser.text)
    for evil in (EVIL_NAME, EVIL_ORG, EVIL_OFFER, EVIL_WIN):
        assert evil in text
    assert "@import" not in page and "url(" not in page
    assert tags.count("svg") == 3 + len(data["funnel"])  # and one funnel chart per topic
    csp = [a["content"] for t, a in parser.tags if t == "meta" and "http-equiv" in a]
    assert csp == [report.CSP]
    ids = {a.get("id") for _, a in parser.tags}
    assert {"calls-per-week", "outcomes", "referral-tree", "open-offers", "follow-ups"} <= ids


def test_cli_report_text_json_and_html(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\n')
    base = ["--config", str(cfg)]
    assert run_cli([*base, "add", "Ann <b>Example</b>"]).exit_code == 0
    out = tmp_path / "report.html"
    result = run_cli([*base, "report", "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert "Progress report" in result.stdout and str(out) in result.stdout
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    result = run_cli([*base, "report", "--json"])
    data = json.loads(result.stdout)
    assert data["people"] == 1 and len(data["weeks"]) == 8 and data["html"] is None
    bad = run_cli([*base, "report", "--html", str(tmp_path / "no" / "r.html")])
    assert bad.exit_code == 1 and "cannot write the report" in bad.stderr


# ------------------------------------------------------------------------------- Chromium
def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of RGB(A) bytes of an 8-bit PNG, with the standard library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = depth = ctype = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    if bpp == 4:
        rows = [bytes(b for i, b in enumerate(r) if i % 4 != 3) for r in rows]
    return width, height, rows


def _chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )


def _console_errors(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line
    ]


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install chromium chromium-driver); "
    "the HTML report is not rendered in a browser",
)


@needs_chromium
def test_console_error_detection_works(tmp_path: Path) -> None:
    """The check below is not vacuous: a page with a script error is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>throw new Error('boom-4711')</script>")
    result = _chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert any("boom-4711" in line for line in _console_errors(result.stderr)), result.stderr


@needs_chromium
def test_html_report_renders_in_headless_chromium(
    full: tuple[App, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    app, _ = full
    data = report.collect(app)
    page = report.write_html(data, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    result = _chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1200,1600")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console_errors(result.stderr) == [], result.stderr
    keep = os.environ.get("SYNCSVC_REPORT_SCREENSHOT")
    if keep:  # to look at it: SYNCSVC_REPORT_SCREENSHOT=/tmp/report.png pytest -k chromium
        shutil.copy(shot, keep)

    width, height, rows = _png_pixels(shot)
    assert (width, height) == (1200, 1600)
    colours: set[bytes] = set()
    counts: dict[str, int] = {"done": 0, "no_answer": 0, "win": 0, "background": 0}
    wanted = {
        bytes.fromhex(report.COLORS["done"][1:]): "done",
        bytes.fromhex(report.COLORS["no_answer"][1:]): "no_answer",
        bytes.fromhex("b7791f"): "win",
        bytes.fromhex("f6f8fa"): "background",
    }
    for row in rows:
        for x in range(0, len(row), 3):
            px = row[x : x + 3]
            colours.add(px)
            if px in wanted:
                counts[wanted[px]] += 1
    assert len(colours) > 200, "the screenshot is (nearly) blank"
    assert counts["background"] > 100_000, counts
    assert counts["done"] > 2_000, counts  # the bars of done calls are drawn
    assert counts["no_answer"] > 100, counts
    assert counts["win"] > 200, counts  # the win marked in the referral tree

    dom = _chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert dom.returncode == 0
    assert _console_errors(dom.stderr) == [], dom.stderr
    html = dom.stdout
    assert html.rstrip().endswith("</html>") and "</main>" in html
    assert html.count("<svg") == 3 + len(data["funnel"]) and html.count("<rect") > 20
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert "Carol Çelik" in html and "&lt;script&gt;alert('name')" in html
