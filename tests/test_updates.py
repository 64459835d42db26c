"""Keep everyone informed: `syncsvc updates` drafts short update messages — after a win to
everyone up its referral chain, every few weeks to the people who helped — as .eml files
(never sent), each once; `--done ID` marks one sent; the report links them as mailto:."""

from __future__ import annotations

import email
import email.policy
import json
import stat
from datetime import date, datetime
from pathlib import Path
from typing import Any

from syncsvc import report, updates
from syncsvc.app import App
from syncsvc.clock import FixedClock
from syncsvc.store import people as people_db
from tests.cli_helper import run_cli
from tests.conftest import BERLIN
from tests.test_report import _call


def populate(app: App) -> dict[str, int]:
    """Alice referred Bob (3 Nov), Bob referred Carol (10 Nov), Carol's call (19 Nov) was a
    win; Dora made an offer on 4 Nov; Eve referred Fay, not reached yet."""
    with app.store.tx() as conn:

        def add(name: str, mail: str | None = None, **kw: Any) -> int:
            pid = people_db.add(conn, name=name, source="manual", **kw)
            if mail:
                people_db.insert_addresses(conn, [(pid, "email", mail, mail.lower(), 0)])
            return pid

        ids = {"alice": add("Alice Anders", "alice@example.org")}
        ids["bob"] = add("Bob Brandt", "bob@example.org", referred_by=ids["alice"])
        ids["carol"] = add("Carol Çelik", "carol@example.org", referred_by=ids["bob"])
        ids["dora"] = add("Dora Dietz", "dora@example.org")
        ids["eve"] = add("Eve Engel")
        ids["fay"] = add("Fay Fuchs", referred_by=ids["eve"])
        a = _call(conn, ids["alice"], date(2026, 11, 3), "done")
        b = _call(conn, ids["bob"], date(2026, 11, 10), "done")
        c = _call(conn, ids["carol"], date(2026, 11, 19), "done")
        d = _call(conn, ids["dora"], date(2026, 11, 4), "done")
        e = _call(conn, ids["eve"], date(2026, 11, 5), "done")
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (a, ids["bob"]))
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (b, ids["carol"]))
        conn.execute("INSERT INTO referrals(call_id, person_id) VALUES (?, ?)", (e, ids["fay"]))
        conn.execute(
            "INSERT INTO offers(call_id, person_id, text) VALUES (?, ?, 'intro to Sam')",
            (d, ids["dora"]),
        )
        conn.execute("INSERT INTO wins(call_id, text) VALUES (?, 'an interview at Acme')", (c,))
    return ids


def test_a_win_is_drafted_once_to_everyone_up_its_chain(app: App) -> None:
    populate(app)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)  # news is due for nobody: 3 weeks
    got = updates.draft(app.store, app.config.data_dir, now.date(), now)
    assert [(d.name, d.kind) for d in got.new] == [("Alice Anders", "win"), ("Bob Brandt", "win")]
    alice, bob = got.new
    assert alice.email == "alice@example.org"
    assert "you put me in touch with Bob Brandt, who put me in touch with Carol Çelik" in (
        alice.body
    )
    assert "an interview at Acme (19 Nov)" in alice.body
    assert bob.body.startswith("Hi Bob,") and "put me in touch with Carol Çelik —" in bob.body
    # the files: 0700 folder, 0600 files, a standard message with To and Subject
    folder = app.config.data_dir / "updates"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert alice.path is not None
    path = Path(alice.path)
    assert path.parent == folder and path.suffix == ".eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "alice@example.org"
    assert msg["Subject"] == "Good news — thanks to you"
    assert msg["X-Unsent"] == "1"
    assert "Carol Çelik" in msg.get_content()
    # each draft once
    again = updates.draft(app.store, app.config.data_dir, now.date(), now)
    assert again.new == [] and [d.id for d in again.pending] == [alice.id, bob.id]


def test_helpers_hear_what_happened_every_few_weeks(app: App, clock: FixedClock) -> None:
    populate(app)
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN))
    updates.draft(app.store, app.config.data_dir, app.today(), clock.now())  # the win notes
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN))  # Dora and Eve helped 26 days ago
    got = updates.draft(app.store, app.config.data_dir, app.today(), clock.now())
    by_name = {d.name: d for d in got.new}
    assert set(by_name) == {"Dora Dietz", "Eve Engel"}  # Alice and Bob had a note 7 days ago
    dora = by_name["Dora Dietz"]
    assert dora.kind == "news" and dora.subject == updates.NEWS_SUBJECT
    assert "Since we spoke on 4 Nov, I've had 3 more conversations" in dora.body
    assert "led to 2 new introductions" in dora.body and "an interview at Acme" in dora.body
    eve = by_name["Eve Engel"]
    assert eve.email is None  # drafted all the same: the person fills in the address
    assert "You put me in touch with Fay Fuchs — I'm still trying to reach them." in eve.body
    assert eve.path is not None
    msg = email.message_from_bytes(Path(eve.path).read_bytes(), policy=email.policy.default)
    assert msg["To"] is None
    # not again for another three weeks
    clock.set(datetime(2026, 12, 10, 9, 0, tzinfo=BERLIN))
    assert updates.draft(app.store, app.config.data_dir, app.today(), clock.now()).new == []
    clock.set(datetime(2026, 12, 22, 9, 0, tzinfo=BERLIN))
    later = updates.draft(app.store, app.config.data_dir, app.today(), clock.now()).new
    assert {d.name for d in later} >= {"Dora Dietz", "Eve Engel"}


def test_the_report_links_open_drafts_as_mailto(app: App) -> None:
    populate(app)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    updates.draft(app.store, app.config.data_dir, now.date(), now)
    data = report.collect(app)
    assert [u["person"]["name"] for u in data["updates"]] == ["Alice Anders", "Bob Brandt"]
    link = data["updates"][0]["mailto"]
    assert link.startswith("mailto:alice@example.org?subject=Good%20news")
    assert "Updates to send: 2 draft(s)" in report.render_text(data)
    page = report.render_html(data)
    assert 'id="updates"' in page and 'href="mailto:alice@example.org?subject=' in page


def test_updates_through_the_cli(app: App, tmp_path: Path) -> None:
    populate(app)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'data_dir = "{app.config.data_dir}"\n[calls]\ntimezone = "Europe/Berlin"\n')
    app.close()

    def run(*args: str) -> Any:
        return run_cli(["--config", str(cfg), "updates", *args])

    out = run("--json")
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    wins = [p for p in got["pending"] if p["kind"] == "win"]
    assert [p["person"]["name"] for p in wins] == ["Alice Anders", "Bob Brandt"]
    assert all(p["mailto"].startswith("mailto:") and Path(p["path"]).exists() for p in wins)
    first = wins[0]["id"]
    text = run().stdout
    assert "Alice Anders <alice@example.org>: Good news — thanks to you" in text
    assert "syncsvc updates --done ID" in text
    assert (
        run("--done", str(first)).stdout.strip() == f"Update {first} to Alice Anders marked sent."
    )
    assert "already" in run("--done", str(first)).stdout
    assert first not in [p["id"] for p in json.loads(run("--json").stdout)["pending"]]
    bad = run("--done", "999")
    assert bad.exit_code != 0 and "no update draft 999" in bad.stderr
