"""``syncsvc export``: the whole name list with its history, as JSON (everything) or vCard 3.0;
a vCard export re-imports into an empty store as the same people, and a JSON export's raw rows,
loaded into an empty store, export identically again (nothing left out)."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest

from syncsvc import export as export_mod
from syncsvc.app import App, PersonInput
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from syncsvc.store import snapshot
from syncsvc.sync import uid_for
from tests.cli_helper import run_cli
from tests.conftest import BERLIN

MONDAY = date(2026, 11, 30)


def _write_notes(app: App, call_id: str, text: str) -> None:
    path = app.config.calendar_path / f"{uid_for(call_id)}.ics"
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    ev = next(iter(cal.walk("VEVENT")))
    ev["DESCRIPTION"] = str(ev["DESCRIPTION"]) + text
    path.write_bytes(cal.to_ical())


@pytest.fixture
def lived_in(make_app: Callable[..., App], clock: Any) -> App:
    """A store with people of every kind and a week of history."""
    app = make_app(calls={"per_day": 3, "region": "DE"})
    app.add_person(PersonInput(name="Anna Müller", emails=["anna@example.org"],
                               phones=["+49 170 1234567"], org="Grid; Storage, GmbH",
                               note="met at\nthe conference \\ 2019"))  # fmt: skip
    app.add_person(PersonInput(name="Bo", phones=["+1 212 555 0100"]))
    app.add_person(PersonInput(name="Chen Wei", emails=["chen@example.org", "cw@example.net"],
                               referred_by="Anna Müller"))  # fmt: skip
    for i in range(5):
        app.add_person(PersonInput(name=f"Person {i:02d} " + "Ü" * 40,
                                   emails=[f"p{i}@example.org"]))  # fmt: skip
    app.set_topic("grid storage")
    app.set_topic("hydrogen logistics")
    planned = app.plan(MONDAY)
    _write_notes(
        app,
        planned[0].id,
        "done\nref: Jane Roe <jane@example.org> +1 555 0100\n"
        "offer: send the port study\nwin: got an intro to Acme",
    )
    _write_notes(app, planned[1].id, "no answer")
    _write_notes(app, planned[2].id, "Lovely chat, semicolons; commas, and \\ too")
    clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=BERLIN))
    app.sync()
    app.plan(date(2026, 12, 1), 2)
    return app


def _people(app: App) -> list[tuple[Any, ...]]:
    return sorted(
        (
            p.name,
            sorted(e.lower() for e in p.emails),
            sorted(n for _, n in p.phones),
            p.org,
            p.title,
            p.note,
        )
        for p in people_db.iter_people(app.store.conn)
    )


def test_vcard_export_reimports_as_the_same_people(
    lived_in: App, make_app: Callable[..., App], tmp_path: Path
) -> None:
    out = tmp_path / "all.vcf"
    result = run_cli(["--config", _config_for(lived_in, tmp_path), "export", "--vcard", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_bytes().decode("utf-8")
    long = [line for line in text.split("\r\n") if len(line.encode()) > 75]
    assert not long, long
    unfolded = text.replace("\r\n ", "")
    assert re.search(r"X-SYNCSVC-CALL:2026-11-30 \w+ done: done ref: Jane Roe", unfolded), unfolded
    assert "X-SYNCSVC-OFFER:send the port study" in text.replace("\r\n ", "")
    fresh = make_app(calls={"region": "DE"}, data_dir=str(tmp_path / "fresh"))
    fresh.import_vcards([out])
    assert _people(fresh) == _people(lived_in)
    again = fresh.import_vcards([out])  # the UIDs make a second import a no-op
    assert (again.added, again.updated) == (0, 0)


def _config_for(app: App, tmp_path: Path) -> str:
    path = tmp_path / "export.toml"
    path.write_text(
        f'data_dir = "{app.config.data_dir}"\n[calls]\ntimezone = "Europe/Berlin"\nregion = "DE"\n'
    )
    return str(path)


def _load(app: App, data: dict[str, Any]) -> None:
    """Load an export's raw rows into an empty store (what anyone could do with sqlite3)."""
    with app.store.tx() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        for table in snapshot.TABLES:
            for row in data["tables"][table]:
                cols = list(row)
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(cols)}) "
                    f"VALUES ({', '.join('?' for _ in cols)})",
                    [row[c] for c in cols],
                )


def test_json_export_has_everything_and_loses_nothing(
    lived_in: App, make_app: Callable[..., App], tmp_path: Path
) -> None:
    out = tmp_path / "all.json"
    result = run_cli(["--config", _config_for(lived_in, tmp_path), "export", str(out)])
    assert result.exit_code == 0, result.output
    assert "Exported 9 people" in result.output  # 8 + Jane from a referral
    data = json.loads(out.read_text())
    assert data["format"] == "syncsvc-export"
    assert [t["text"] for t in data["topics"]] == ["grid storage", "hydrogen logistics"]
    history = {c.id: c for c in calls_db.history(lived_in.store.conn)}
    exported = {c["call_id"]: c for p in data["people"] for c in p["calls"]}
    assert set(exported) == set(history)
    for call_id, call in history.items():
        e = exported[call_id]
        assert (e["outcome"], e["notes"], [r["name"] for r in e["referrals"]],
                [o["text"] for o in e["offers"]], e["wins"]) == (
            call.outcome, call.notes, call.referrals, call.offers, call.wins)  # fmt: skip
    jane = next(p for p in data["people"] if p["name"] == "Jane Roe")
    assert jane["referred_by"]["name"] in {c.person_name for c in history.values()}

    fresh = make_app(data_dir=str(tmp_path / "restored"))
    _load(fresh, data)
    assert len(data["tables"]["people"]) == 9
    again = export_mod.snapshot_json(fresh.store.conn)
    for key in ("topics", "people", "tables"):
        assert again[key] == data[key], key
    assert fresh.store.integrity_ok()
    assert fresh.store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # the restored store goes on where the old one stopped: nothing planned twice
    restored = {c.id for c in calls_db.history(fresh.store.conn)}
    assert restored == set(history)


def test_export_to_stdout_and_errors(lived_in: App, tmp_path: Path) -> None:
    config = _config_for(lived_in, tmp_path)
    result = run_cli(["--config", config, "export", "--json", "-"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["format"] == "syncsvc-export"
    assert "Exported" in result.stderr
    result = run_cli(["--config", config, "export", str(tmp_path / "no/x.json")])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    vcf = run_cli(["--config", config, "export", str(tmp_path / "guess.vcf")])
    assert vcf.exit_code == 0 and "(vcard)" in vcf.output
    assert (tmp_path / "guess.vcf").read_text().startswith("BEGIN:VCARD")


def test_hostile_text_stays_inside_its_vcard_property(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    app = make_app()
    app.add_person(PersonInput(name="Eve\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Injected",
                               emails=["eve@example.org"], note="x\nTEL:+1 555 0199"))  # fmt: skip
    out = tmp_path / "eve.vcf"
    export_mod.export(app.store.conn, str(out), "vcard")
    fresh = make_app(data_dir=str(tmp_path / "fresh"))
    fresh.import_vcards([out])
    (eve,) = people_db.iter_people(fresh.store.conn)
    assert eve.phones == [] and eve.emails == ["eve@example.org"]
