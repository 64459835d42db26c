"""The whole loop against the loopback Google fake, through the real google-api-python-client:
plan a week into Google Calendar, edit it as the web UI does, sync; import Google Contacts and
merge them with a vCard import."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncsvc.app import App
from syncsvc.calendars.google import GoogleCalendar, event_id
from syncsvc.errors import AuthError, SignInExpiredError
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
    service = google.service("calendar", "v3", config=app.config)  # production credentials
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
        lambda config: google.service("people", "v1", config=config),
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
    ann_ids = {
        r
        for (r,) in conn.execute("SELECT ext_id FROM source_ids WHERE person_id = ?", (merged.id,))
    }
    assert ann in ann_ids  # the Google contact was merged into the vCard person


def _one_line_sign_in_error(err: BaseException) -> None:
    message = str(err)
    assert isinstance(err, SignInExpiredError), repr(err)
    assert message == "Google sign-in expired or was revoked: run `syncsvc auth google`"


def _calendar_from_token_file(google: FakeGoogle, monkeypatch: pytest.MonkeyPatch) -> None:
    """GoogleCalendar.from_config as production's, its endpoints the fake's: credentials from
    the data dir's token file, refreshed through the fake's token endpoint."""

    def from_config(cls: type[GoogleCalendar], config: Any) -> GoogleCalendar:
        return cls(google.service("calendar", "v3", config=config), sleep=lambda s: None)

    monkeypatch.setattr(GoogleCalendar, "from_config", classmethod(from_config))


def test_an_expired_google_sign_in_is_one_line(
    google: FakeGoogle, make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(calendar={"backend": "google"})
    add_people(app, 1)
    refresh = google.write_token_file(app.config.google_token_path)
    info = json.loads(app.config.google_token_path.read_text())
    info["expiry"] = "2020-01-01T00:00:00Z"  # the access token has expired...
    app.config.google_token_path.write_text(json.dumps(info))
    google.revoke(refresh)  # ...and the refresh token was revoked (or its 7 days ran out)
    _calendar_from_token_file(google, monkeypatch)
    with pytest.raises(AuthError) as err:
        app.plan(MONDAY)
    _one_line_sign_in_error(err.value)
    assert google.count("/token") == 1 and google.count("/calendar/") == 0
    assert google.events() == []


def test_a_token_expiring_mid_run_is_refreshed_and_the_run_finishes(
    google_app: App, google: FakeGoogle
) -> None:
    app = google_app
    google.expire_access_tokens_after(4)  # the hour is up after the 4th insert
    planned = app.plan(MONDAY, 5)
    assert len(planned) == 15 and len(google.events()) == 15
    assert google.count("/token") == 1  # one refresh, after the 401
    refreshed = google.access_tokens[-1]
    last = [r for r in google.requests if r.path.startswith("/calendar/")][-1]
    assert last.headers["authorization"] == f"Bearer {refreshed}"

    google.ui_write_notes(event_id(uid_for(planned[0].id)), "Done")
    google.expire_access_tokens_after(0)  # and again, on the sync's first request
    app.clock.set(datetime(2026, 11, 30, 21, 0, tzinfo=BERLIN))
    app.sync()
    assert google.count("/token") == 2
    assert calls_db.get(app.store.conn, planned[0].id).outcome == "done"  # type: ignore[union-attr]


def test_a_refresh_refused_mid_run_says_sign_in_and_loses_nothing(
    google_app: App, google: FakeGoogle
) -> None:
    app = google_app
    first = app.plan(MONDAY, 2)
    google.ui_write_notes(event_id(uid_for(first[0].id)), "Done")
    google.revoke()  # the person removed syncsvc's access in their Google account
    google.expire_access_tokens_after(3)  # ...which Google notices at the next refresh
    with pytest.raises(AuthError) as err:
        app.plan(MONDAY + timedelta(days=2), 3)  # dies part-way through its inserts
    _one_line_sign_in_error(err.value)
    assert 0 < len(google.events()) < 15

    # `syncsvc auth google` again; the next run finishes the work
    google.write_token_file(app.config.google_token_path)
    app._calendar = GoogleCalendar(
        google.service("calendar", "v3", config=app.config), sleep=lambda s: None
    )
    app.clock.set(datetime(2026, 11, 30, 21, 0, tzinfo=BERLIN))
    app.plan(MONDAY + timedelta(days=2), 3)
    app.sync()
    conn = app.store.conn
    calls = [c for d in range(5) for c in calls_db.on_day(conn, MONDAY + timedelta(days=d))]
    ids = {event_id(uid_for(c.id)) for c in calls}
    assert len(calls) == 15 and {e["id"] for e in google.events()} == ids
    assert calls_db.get(conn, first[0].id).outcome == "done"  # type: ignore[union-attr]
