"""The whole loop against the loopback Google fake, through the real google-api-python-client:
plan a week into Google Calendar, edit it as the web UI does, sync; import Google Contacts and
merge them with a vCard import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from syncsvc.app import App
from syncsvc.calendars.google import GoogleCalendar, event_id
from syncsvc.errors import AuthError
from syncsvc.google_api import build_service
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from syncsvc.sync import uid_for
from tests.conftest import BERLIN, add_people
from tests.google_fake import FakeGoogle, google_fake_fixture

google = google_fake_fixture()
MONDAY = date(2026, 11, 30)


@pytest.fixture
def google_app(google: FakeGoogle, make_app: Callable[..., App]) -> App:
    app = make_app(calls={"per_day": 3}, calendar={"backend": "google"})
    service = build_service("calendar", "v3", None, 5, api_endpoint=google.calendar_endpoint)
    app._calendar = GoogleCalendar(service, sleep=lambda s: None)
    add_people(app, 15)
    app.set_topic("operations roles in wind energy")
    return app


def test_a_week_in_google_calendar_read_back(google_app: App, google: FakeGoogle) -> None:
    app = google_app
    planned = app.plan(MONDAY, 5)
    assert len(planned) == 15
    assert len(google.events()) == 15
    ev = google.event(event_id(uid_for(planned[0].id)))
    assert "operations roles in wind energy" in ev["description"]
    assert ev["start"]["timeZone"] == "Europe/Berlin"

    c = planned
    google.ui_write_notes(
        event_id(uid_for(c[0].id)),
        "Done\nref: Jane Roe <jane@example.org>\noffer: send the article",
    )
    google.ui_write_notes(event_id(uid_for(c[1].id)), "voicemail")
    google.ui_delete(event_id(uid_for(c[2].id)))
    moved = datetime(2026, 12, 2, 9, 0, tzinfo=BERLIN)
    google.ui_move(event_id(uid_for(c[3].id)), moved, moved.replace(minute=20))
    app.clock.set(datetime(2026, 11, 30, 21, 0, tzinfo=BERLIN))
    app.sync()
    conn = app.store.conn
    first = calls_db.get(conn, c[0].id)
    assert first is not None
    assert (first.outcome, first.referrals, first.offers) == (
        "done",
        ["Jane Roe"],
        ["send the article"],
    )
    assert calls_db.get(conn, c[1].id).outcome == "no_answer"  # type: ignore[union-attr]
    assert calls_db.get(conn, c[2].id).outcome == "skipped"  # type: ignore[union-attr]
    assert calls_db.get(conn, c[3].id).start == moved  # type: ignore[union-attr]

    # nothing changed: one request, nothing different
    google.reset_counts()
    before = [tuple(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")]
    app.sync()
    assert google.count() == 1
    assert [tuple(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")] == before

    # an expired sync token: one full resync, no duplicates, nothing applied twice
    google.expire_sync_tokens()
    app.sync()
    assert [tuple(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")] == before
    assert len(google.events()) == 14  # 15 written, 1 deleted by the person
    assert len(people_db.find(conn, "jane@example.org")) == 1


def test_a_crash_after_insert_gives_no_duplicate(
    google_app: App, google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncsvc import sync as sync_mod

    real = sync_mod.calls_db.upsert_event_state

    def crash(conn: Any, calendar: str, call_id: str, uid: str, **kw: Any) -> None:
        if kw.get("state") == "written":
            raise KeyboardInterrupt
        real(conn, calendar, call_id, uid, **kw)

    monkeypatch.setattr(sync_mod.calls_db, "upsert_event_state", crash)
    with pytest.raises(KeyboardInterrupt):
        google_app.plan(MONDAY)
    monkeypatch.setattr(sync_mod.calls_db, "upsert_event_state", real)
    google_app.sync()
    assert len(google.events()) == 3
    assert len({e["id"] for e in google.events()}) == 3


def test_contacts_import_merges_with_vcards_and_is_incremental(
    google: FakeGoogle,
    make_app: Callable[..., App],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(calls={"region": "DE"})
    card = tmp_path / "c.vcf"
    card.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Ann Example\nEMAIL:ann@example.org\nEND:VCARD\n")
    app.import_vcards([card])
    ann = google.add_contact("Ann Example", emails=["ANN@example.org"], phones=["+49 170 1111111"])
    google.add_contact("Bo Gone", emails=["bo@example.org"])
    for i in range(30):
        google.add_contact(f"Contact {i}", emails=[f"c{i}@example.org"])
    from syncsvc.contacts import google as contacts_google

    monkeypatch.setattr(
        contacts_google,
        "build_people_service",
        lambda config: build_service("people", "v1", None, 5, api_endpoint=google.people_endpoint),
    )
    first = app.import_google()
    assert (first.added, first.updated) == (31, 1)
    conn = app.store.conn
    (merged,) = people_db.find(conn, "ann@example.org")
    assert merged.phones and merged.phones[0][1] == "+491701111111"

    google.reset_counts()
    bo = next(p for p in people_db.iter_people(conn) if p.name == "Bo Gone")
    google.delete_contact(
        next(
            r
            for (r,) in conn.execute("SELECT ext_id FROM source_ids WHERE person_id = ?", (bo.id,))
        )
    )
    again = app.import_google()
    assert again.added == 0
    bo_after = people_db.get(conn, bo.id)
    assert bo_after is not None and bo_after.removed_at_source, "marked, never deleted"
    assert people_db.count(conn) == 32
    assert ann  # the fake's resource name of Ann


def test_an_expired_google_sign_in_is_one_line(make_app: Callable[..., App]) -> None:
    app = make_app(calendar={"backend": "google"})
    add_people(app, 1)
    with pytest.raises(AuthError) as err:
        app.plan(MONDAY)
    assert "syncsvc auth google" in str(err.value) and "\n" not in str(err.value)
