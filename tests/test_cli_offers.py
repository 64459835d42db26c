"""`syncsvc offers [--json]` and `syncsvc offers done ID`, and what `people --json` says of a
paused person: output shapes, one-line errors, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from syncsvc import config
from syncsvc.app import App
from syncsvc.store import calls as calls_db
from syncsvc.store import notes as notes_db
from syncsvc.store import people as people_db
from tests.cli_helper import run_cli

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\n')
    return path


def run(cfg: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli(["--config", str(cfg), *args])
    return result.exit_code, result.stdout, result.stderr


def offer(app: App, name: str, day: date, *texts: str) -> None:
    """``name`` offered ``texts`` on a call on ``day``."""
    with app.store.tx() as conn:
        person_id = people_db.first_named(conn, name) or people_db.add(
            conn, name=name, source="manual"
        )
        start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=16)
        call_id = f"c-{person_id}-{day:%m%d}"
        calls_db.insert(
            conn,
            call_id=call_id,
            person_id=person_id,
            day=day,
            start=start,
            end=start + timedelta(minutes=20),
            tz="Europe/Berlin",
            kind="rotation",
        )
        call = calls_db.get(conn, call_id)
        assert call is not None
        notes = notes_db.Notes(outcome="done", text="done", digest=call_id, offers=texts)
        notes_db.apply_notes(conn, call, notes, NOW)


@pytest.fixture
def with_offers(cfg: Path) -> Path:
    app = App(config.load(str(cfg)))
    offer(app, "Zoë Late", date(2026, 11, 27), "intro to Sam")
    offer(app, "Ada Early", date(2026, 11, 20), "send her the article", "a book")
    app.close()
    return cfg


def test_offers_lists_the_open_ones_oldest_first(with_offers: Path) -> None:
    code, out, err = run(with_offers, "offers", "--json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [(r["person"]["name"], r["text"], r["date"]) for r in rows] == [
        ("Ada Early", "send her the article", "2026-11-20"),
        ("Ada Early", "a book", "2026-11-20"),
        ("Zoë Late", "intro to Sam", "2026-11-27"),
    ]
    assert set(rows[0]) == {"id", "person", "text", "date", "call_id", "done_at"}
    code, out, _ = run(with_offers, "offers")
    assert code == 0
    assert "send her the article" in out and "Zoë Late" in out
    assert "syncsvc offers done ID" in out


def test_offers_done_marks_one_and_it_leaves_the_lists(with_offers: Path) -> None:
    _, out, _ = run(with_offers, "offers", "--json")
    article = next(r for r in json.loads(out) if r["text"] == "send her the article")
    code, out, err = run(with_offers, "offers", "done", str(article["id"]))
    assert (code, err) == (0, "")
    assert out == f"Offer {article['id']} done: send her the article (Ada Early).\n"
    _, out, _ = run(with_offers, "offers", "--json")
    assert "send her the article" not in [r["text"] for r in json.loads(out)]
    _, out, _ = run(with_offers, "status", "--json")
    assert "send her the article" not in [o["text"] for o in json.loads(out)["open_offers"]]
    # done already: said, and no error
    code, out, _ = run(with_offers, "offers", "done", str(article["id"]))
    assert code == 0 and out.startswith(f"Offer {article['id']} was done already (")
    code, out, _ = run(with_offers, "offers", "done", str(article["id"]), "--json")
    data = json.loads(out)
    assert (code, data["was_open"], data["text"]) == (0, False, "send her the article")
    assert data["done_at"] is not None


def test_no_open_offers(cfg: Path) -> None:
    code, out, _ = run(cfg, "offers")
    assert (code, out) == (0, "No open offers.\n")
    code, out, _ = run(cfg, "offers", "--json")
    assert (code, json.loads(out)) == (0, [])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["offers", "done", "999"], "syncsvc: no offer has the id 999 (see `syncsvc offers`)"),
        (["offers", "done"], "the following arguments are required: ID"),
        (["offers", "done", "first"], "argument ID: invalid int value: 'first'"),
        (["offers", "bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_offers_usage_errors_exit_2(with_offers: Path, args: list[str], needle: str) -> None:
    code, out, err = run(with_offers, *args)
    assert code == 2 and out == ""
    assert needle in err
    assert len(err.splitlines()) <= 3


def test_offers_help() -> None:
    result = run_cli(["--help"])
    assert "    offers " in result.stdout
    for command in ("offers", "offers done"):
        result = run_cli([*command.split(), "--help"])
        assert result.exit_code == 0
        assert result.stdout.startswith(f"usage: syncsvc {command} ")


def test_people_json_says_who_is_paused(cfg: Path) -> None:
    run(cfg, "add", "Sam Lee", "--email", "sam@example.org")
    run(cfg, "add", "Kim Park", "--email", "kim@example.org")
    app = App(config.load(str(cfg)))
    app.pause("sam@example.org", "wrong_number")
    app.close()
    _, out, _ = run(cfg, "people", "--json")
    assert {p["name"]: p["paused"] for p in json.loads(out)} == {
        "Kim Park": None,
        "Sam Lee": "wrong_number",
    }
    # a new phone for them: back in the rotation
    run(cfg, "add", "Sam Lee", "--email", "sam@example.org", "--phone", "+49 170 1234567")
    _, out, _ = run(cfg, "people", "--json")
    assert {p["name"]: p["paused"] for p in json.loads(out)}["Sam Lee"] is None
