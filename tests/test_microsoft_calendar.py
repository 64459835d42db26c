"""MicrosoftCalendar against the loopback Graph fake, through the real msal and requests."""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from syncsvc import config as config_mod
from syncsvc.calendars import open_calendar
from syncsvc.calendars.base import CallEvent
from syncsvc.calendars.microsoft import MicrosoftCalendar, body_text, parse_when
from syncsvc.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    RateLimitedError,
    SignInExpiredError,
)
from tests.calendar_contract import App, AppView, CalendarContract, Foreign
from tests.graph_fake import (
    FakeGraph,
    graph_fake_fixture,
    microsoft_section,
    outlook_html,
    outlook_typed,
    sign_in,
)

graph = graph_fake_fixture()
ZONE = ZoneInfo("Europe/Berlin")
MARKER = "--- notes (write below this line) ---"
DELTA = "calendarView/delta"


class OutlookApp(App):
    """Outlook on the Graph fake: a category, and the location typed in."""

    def __init__(self, graph: FakeGraph) -> None:
        self.graph = graph

    def touch(self, uid: str, location: str | None = None) -> None:
        with self.graph.lock:
            ev = self.graph.events_by_id[self.graph.find(uid)]
            ev["categories"] = ["Blue category"]
            if location is not None:
                ev["location"] = {"displayName": location}
            self.graph._touch(ev)

    def view(self, uid: str) -> AppView:
        ev = self.graph.event(self.graph.find(uid))
        return AppView(
            location=(ev.get("location") or {}).get("displayName") or None,
            dial=None,  # Graph has no phone field: the location is what Outlook dials
            apps_data=ev.get("categories") == ["Blue category"],
        )


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def config(graph: FakeGraph, tmp_path: Path) -> config_mod.Config:
    cfg = config_mod.build(
        {
            "data_dir": str(tmp_path / "data"),
            "calendar": {"backend": "microsoft", "calendar": "Calls", "timeout_seconds": 5},
            "microsoft": microsoft_section(graph),
        },
        None,
    )
    sign_in(cfg, graph)
    return cfg


def make_calendar(config: config_mod.Config, sleep: Callable[[float], None]) -> MicrosoftCalendar:
    cal = MicrosoftCalendar.from_config(config)
    cal._sleep = sleep
    return cal


@pytest.fixture
def calendar(config: config_mod.Config, sleeps: Sleeps) -> Iterator[MicrosoftCalendar]:
    cal = make_calendar(config, sleeps)
    yield cal
    cal.close()


class TestMicrosoftContract(CalendarContract):
    @pytest.fixture
    def app(self, graph: FakeGraph) -> App:
        return OutlookApp(graph)

    @pytest.fixture
    def edit_remote(self, graph: FakeGraph) -> Callable[..., None]:
        def edit(
            uid: str,
            description: str | None = None,
            start: datetime | None = None,
            end: datetime | None = None,
            summary: str | None = None,
            delete: bool = False,
        ) -> None:
            eid = graph.find(uid)
            if delete:
                graph.ui_delete(eid)
                return
            if description is not None or summary is not None:
                body = None
                if description is not None:  # an app writing HTML through Graph
                    from syncsvc.text import description_html

                    body = description_html(description)
                graph.ui_edit(eid, body_html=body, subject=summary)
            if start is not None or end is not None:
                ev = graph.event(eid)
                graph.ui_move(
                    eid,
                    start or parse_when(ev["start"]),  # type: ignore[arg-type]
                    end or parse_when(ev["end"]),  # type: ignore[arg-type]
                )

        return edit

    @pytest.fixture
    def add_foreign(self, graph: FakeGraph, calendar: MicrosoftCalendar) -> Callable[[str], None]:
        calendar.check()  # the calendar exists

        def add(uid: str) -> None:
            start = datetime(2026, 6, 20, 9, tzinfo=ZONE)
            graph.ui_create(f"Dentist {uid}", start, start + timedelta(hours=1), calendar="Calls")

        return add

    @pytest.fixture
    def add_foreign_event(
        self, graph: FakeGraph, calendar: MicrosoftCalendar
    ) -> Callable[[Foreign], None]:
        calendar.check()

        def add(event: Foreign) -> None:
            graph.ui_create(
                event.summary,
                event.start,
                event.end,
                free=event.transparent,
                cancelled=event.cancelled,
                weekly=event.weekly,
            )

        return add


# --------------------------------------------------------------------------- helpers


def call(n: int, day: date = date(2026, 3, 30), slot: int = 0) -> CallEvent:
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZONE).replace(hour=17) + timedelta(
        minutes=40 * slot
    )
    return CallEvent(
        uid=f"call-{n}@syncsvc",
        call_id=str(n),
        summary=f"Call Person {n}",
        description=f"Do you know of anyone ...?\ntel:+491701234{n:03d}\n{MARKER}\n",
        start=start,
        end=start + timedelta(minutes=20),
        alarm_minutes=10,
    )


# --------------------------------------------------------------------------- sign-in, config


def test_sign_in_stores_a_private_token_cache(config: config_mod.Config) -> None:
    path = config.microsoft_token_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "refresh_token" in path.read_text().lower() or "RefreshToken" in path.read_text()


def test_no_client_id_names_the_key_and_the_readme(tmp_path: Path) -> None:
    cfg = config_mod.build({"data_dir": str(tmp_path), "calendar": {"backend": "microsoft"}}, None)
    with pytest.raises(ConfigError) as err:
        open_calendar(cfg)
    assert "[microsoft] client_id" in str(err.value) and "README" in str(err.value)
    assert "\n" not in str(err.value)


def test_not_signed_in(graph: FakeGraph, tmp_path: Path) -> None:
    cfg = config_mod.build(
        {
            "data_dir": str(tmp_path),
            "calendar": {"backend": "microsoft"},
            "microsoft": microsoft_section(graph),
        },
        None,
    )
    with pytest.raises(AuthError, match="syncsvc auth microsoft"):
        open_calendar(cfg).check()


def test_bad_authority_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="authority"):
        config_mod.build({"data_dir": str(tmp_path), "microsoft": {"authority": "ftp://x"}}, None)


def test_expired_access_token_is_refreshed_silently_and_saved(
    graph: FakeGraph, config: config_mod.Config, calendar: MicrosoftCalendar
) -> None:
    calendar.create(call(1))
    before = config.microsoft_token_path.read_text()
    graph.expire_tokens()
    calendar.create(call(2))
    assert len(graph.events("Calls")) == 2
    assert config.microsoft_token_path.read_text() != before  # the refreshed token is kept
    fresh = make_calendar(config, Sleeps())  # a new process uses the cached token
    graph.reset_counts()
    fresh.check()
    assert graph.count("/common/oauth2/v2.0/token") == 0


def test_revoked_sign_in_says_so_in_one_line(graph: FakeGraph, calendar: MicrosoftCalendar) -> None:
    calendar.check()
    graph.revoke()
    with pytest.raises(SignInExpiredError) as err:
        calendar.create(call(1))
    assert "syncsvc auth microsoft" in str(err.value) and "\n" not in str(err.value)


# --------------------------------------------------------------------------- the event


def test_event_as_stored_in_outlook(graph: FakeGraph, calendar: MicrosoftCalendar) -> None:
    event = call(1)
    calendar.create(event)
    (stored,) = graph.events("Calls")
    assert stored["originalStartTimeZone"] == "W. Europe Standard Time"
    assert stored["start"] == {"dateTime": "2026-03-30T15:00:00.0000000", "timeZone": "UTC"}
    assert stored["body"]["content"].startswith("<html><head>")
    assert graph.prop(stored, "syncsvcCall") == "1"
    assert graph.prop(stored, "syncsvcUid") == event.uid
    assert stored["reminderMinutesBeforeStart"] == 10
    got = calendar.changes(None, {}).changed[0]
    assert got.start == event.start and got.start.utcoffset() == timedelta(hours=2)


def test_the_calendar_is_created_once(graph: FakeGraph, config: config_mod.Config) -> None:
    make_calendar(config, Sleeps()).check()
    make_calendar(config, Sleeps()).check()
    assert [c["name"] for c in graph.calendars.values()].count("Calls") == 1


def test_outlook_typed_notes_read_back_as_text(
    graph: FakeGraph, calendar: MicrosoftCalendar
) -> None:
    event = call(1)
    calendar.create(event)
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    graph.ui_write_notes(graph.find(event.uid), "done  great call\nref: Jane Roe <jane@x.org>")
    got = calendar.changes(first.token, known).changed[0]
    assert got.description.startswith(event.description)
    assert "ref: Jane Roe <jane@x.org>" in got.description
    assert "<div" not in got.description and "margin-top" not in got.description


def test_body_text_of_outlook_html() -> None:
    item = {"body": {"contentType": "html", "content": outlook_html("a<br>b" + outlook_typed("c"))}}
    assert body_text(item) == "a\nb\nc\n"
    assert body_text({"body": {"contentType": "text", "content": "x\r\ny"}}) == "x\ny"


# --------------------------------------------------------------------------- delta


def test_a_quiet_poll_is_one_request(graph: FakeGraph, calendar: MicrosoftCalendar) -> None:
    for n in range(15):
        calendar.create(call(n, date(2026, 3, 30) + timedelta(days=n // 3), n % 3))
    first = calendar.changes(None, {})
    assert len(first.changed) == 15
    known = {e.uid: e.etag for e in first.changed}
    second = calendar.changes(first.token, known)
    graph.reset_counts()
    third = calendar.changes(second.token, known)
    assert third.changed == [] and third.deleted == []
    assert graph.count() == 1 and DELTA in graph.requests[0].path
    assert graph.requests[0].param("$deltatoken")


def test_a_new_process_reads_the_delta_with_the_stored_token(
    graph: FakeGraph, config: config_mod.Config, calendar: MicrosoftCalendar
) -> None:
    a, b = call(1), call(2)
    calendar.create(a)
    calendar.create(b)
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    graph.ui_delete(graph.find(a.uid))
    graph.ui_edit(graph.find(b.uid), subject="✓ Call Person 2")
    restarted = make_calendar(config, Sleeps())
    later = restarted.changes(first.token, known)
    assert later.deleted == [a.uid]
    assert [e.summary for e in later.changed] == ["✓ Call Person 2"]


def test_expired_delta_link_means_one_full_resync(
    graph: FakeGraph, calendar: MicrosoftCalendar
) -> None:
    events = [call(n) for n in range(3)]
    for event in events:
        calendar.create(event)
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    graph.expire_delta_links()
    graph.ui_write_notes(graph.find(events[0].uid), "no answer")
    graph.ui_delete(graph.find(events[1].uid))
    graph.reset_counts()
    again = calendar.changes(first.token, known)
    deltas = [r for r in graph.requests if r.path.endswith(DELTA)]
    assert deltas[0].param("$deltatoken") and deltas[1].param("$deltatoken") is None
    assert [e.uid for e in again.changed] == [events[0].uid]
    assert again.deleted == [events[1].uid]
    assert len(graph.events("Calls")) == 2


def test_an_event_created_elsewhere_is_identified_once(
    graph: FakeGraph, config: config_mod.Config, calendar: MicrosoftCalendar
) -> None:
    first = calendar.changes(None, {})
    other = make_calendar(config, Sleeps())  # e.g. `syncsvc plan` while the daemon runs
    other.create(call(7))
    later = calendar.changes(first.token, {})
    assert [e.uid for e in later.changed] == ["call-7@syncsvc"]
    graph.ui_create(
        "Lunch",
        datetime(2026, 4, 1, 12, tzinfo=ZONE),
        datetime(2026, 4, 1, 13, tzinfo=ZONE),
        calendar="Calls",
    )
    assert calendar.changes(later.token, {"call-7@syncsvc": later.changed[0].etag}).changed == []


# --------------------------------------------------------------------------- writes


def test_a_lost_create_answer_is_retried_without_a_duplicate(
    graph: FakeGraph, calendar: MicrosoftCalendar, sleeps: Sleeps
) -> None:
    calendar.check()
    graph.lose_next_answer()
    etag = calendar.create(call(1))
    assert len(graph.events("Calls")) == 1 and len(sleeps) == 1
    assert etag == graph.events("Calls")[0]["@odata.etag"]


def test_create_after_a_crash_makes_no_duplicate(
    graph: FakeGraph, config: config_mod.Config, calendar: MicrosoftCalendar
) -> None:
    etag = calendar.create(call(1))  # ...and the process dies before recording it
    assert make_calendar(config, Sleeps()).create(call(1)) == etag
    assert len(graph.events("Calls")) == 1


def test_update_sends_if_match_and_412_is_a_conflict(
    graph: FakeGraph, calendar: MicrosoftCalendar
) -> None:
    event = call(1)
    etag = calendar.create(event)
    new = calendar.update(dataclasses.replace(event, summary="Call P. One"), etag)
    patch = [r for r in graph.requests if r.method == "PATCH"][-1]
    assert patch.headers["if-match"] == etag and new != etag
    graph.ui_write_notes(graph.find(event.uid), "talked")
    with pytest.raises(ConflictError) as err:
        calendar.update(dataclasses.replace(event, summary="Overwrite"), new)
    assert "\n" not in str(err.value)


def test_throttling_honours_retry_after(
    graph: FakeGraph, calendar: MicrosoftCalendar, sleeps: Sleeps
) -> None:
    calendar.check()
    graph.fail_next(2, "429")
    graph.fail_next(1, "503")
    calendar.create(call(1))
    assert sleeps == [3.0, 3.0, 1.0]
    assert len(graph.events("Calls")) == 1


def test_endless_throttling_gives_up_with_retry_after(
    graph: FakeGraph, calendar: MicrosoftCalendar, sleeps: Sleeps
) -> None:
    calendar.check()
    graph.fail_next(1000, "429")
    with pytest.raises(RateLimitedError) as err:
        calendar.changes(None, {})
    assert err.value.retry_after == 3.0 and sum(sleeps) <= 60
    assert "gave up" in str(err.value) and "\n" not in str(err.value)


def test_busy_reads_the_default_calendar_and_ignores_ours(
    graph: FakeGraph, calendar: MicrosoftCalendar
) -> None:
    day = date(2026, 3, 30)
    calendar.create(call(1, day))
    at = datetime(2026, 3, 30, 18, tzinfo=ZONE)
    graph.ui_create("Dentist", at, at + timedelta(hours=1))  # default calendar
    graph.ui_create("Gym", at + timedelta(hours=2), at + timedelta(hours=3), calendar="Calls")
    busy = calendar.busy(datetime(2026, 3, 30, 0, tzinfo=ZONE), datetime(2026, 3, 31, tzinfo=ZONE))
    assert busy == [
        (at, at + timedelta(hours=1)),
        (at + timedelta(hours=2), at + timedelta(hours=3)),
    ]


def test_parse_when_windows_names() -> None:
    got = parse_when(
        {"dateTime": "2026-03-30T15:00:00.0000000", "timeZone": "UTC"}, "W. Europe Standard Time"
    )
    assert got == datetime(2026, 3, 30, 17, tzinfo=ZONE) and got.utcoffset() == timedelta(hours=2)
    assert parse_when({"dateTime": "2026-03-30T15:00:00", "timeZone": "UTC"}, "Nowhere/X") == (
        datetime.fromisoformat("2026-03-30T15:00:00+00:00")
    )


def test_access_tokens_come_from_the_cache_until_they_near_expiry(
    graph: FakeGraph, config: config_mod.Config, calendar: MicrosoftCalendar
) -> None:
    calendar.check()
    graph.reset_counts()
    for n in range(3):
        calendar.create(call(n))
    assert graph.count("/common/") == 0  # MSAL's cached token, no token request


# --------------------------------------------------------------------------- CLI, doctor


def _config_file(graph: FakeGraph, tmp_path: Path, **microsoft: str) -> Path:
    path = tmp_path / "config.toml"
    section = microsoft_section(graph, **microsoft)
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        '[calendar]\nbackend = "microsoft"\ntimeout_seconds = 5\n'
        "[microsoft]\n" + "".join(f'{k} = "{v}"\n' for k, v in section.items()),
        encoding="utf-8",
    )
    return path


def test_auth_microsoft_command_runs_the_device_flow(graph: FakeGraph, tmp_path: Path) -> None:
    from tests.cli_helper import run_cli

    cfg = _config_file(graph, tmp_path)
    result = run_cli(["--config", str(cfg), "auth", "microsoft"])
    assert result.exit_code == 0, result.output
    assert "FAKE1234" in result.stdout and "https://microsoft.com/devicelogin" in result.stdout
    assert "jobseeker@outlook.com" in result.stdout
    token = tmp_path / "data" / "microsoft-token.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert all(t not in result.output for t in graph.access_tokens | graph.refresh_tokens)


def test_auth_microsoft_with_an_unknown_client_id(graph: FakeGraph, tmp_path: Path) -> None:
    from tests.cli_helper import run_cli

    cfg = _config_file(graph, tmp_path, client_id="not-registered")
    result = run_cli(["--config", str(cfg), "auth", "microsoft"])
    assert result.exit_code != 0
    assert "client_id" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_doctor_checks_the_calendar_and_the_sign_in(graph: FakeGraph, tmp_path: Path) -> None:
    from syncsvc.doctor import run_checks

    cfg = _config_file(graph, tmp_path)
    before = {c.name: c for c in run_checks(str(cfg))}
    assert not before["microsoft sign-in"].ok
    assert "syncsvc auth microsoft" in before["microsoft sign-in"].detail
    sign_in(config_mod.load(cfg), graph)
    after = {c.name: c for c in run_checks(str(cfg))}
    assert after["calendar (microsoft)"].ok and after["microsoft sign-in"].ok
    graph.revoke()
    revoked = {c.name: c for c in run_checks(str(cfg))}
    assert not revoked["microsoft sign-in"].ok
    assert not revoked["calendar (microsoft)"].ok
    assert "syncsvc auth microsoft" in revoked["microsoft sign-in"].detail


def test_full_listing_follows_next_links_and_reports_vanished_events(
    graph: FakeGraph, calendar: MicrosoftCalendar
) -> None:
    monday = date(2026, 1, 5)
    events = [call(n, monday + timedelta(days=n // 3), n % 3) for n in range(130)]
    for event in events:
        calendar.create(event)
    graph.reset_counts()
    known = {"call-gone@syncsvc": 'W/"x"'}
    full = calendar.changes(None, known)
    assert len({e.uid for e in full.changed}) == 130
    assert full.deleted == ["call-gone@syncsvc"]
    assert graph.count(method="GET") == 4  # two delta pages, two listing pages
    known = {e.uid: e.etag for e in full.changed}
    for event in events[:120]:
        graph.ui_edit(graph.find(event.uid), subject="seen")
    later = calendar.changes(full.token, known)
    assert len(later.changed) == 120 and later.deleted == []


def test_unreachable_graph_is_one_line(sleeps: Sleeps) -> None:
    import socket

    from syncsvc.errors import UnreachableError

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cal = MicrosoftCalendar(f"http://127.0.0.1:{port}/v1.0", lambda force: "t", sleep=sleeps)
    with pytest.raises(UnreachableError) as err:
        cal.changes(None, {})
    assert "\n" not in str(err.value) and str(port) not in str(err.value)


def test_a_server_that_never_answers_times_out(sleeps: Sleeps) -> None:
    import socket

    from syncsvc.errors import UnreachableError

    with socket.socket() as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        cal = MicrosoftCalendar(
            f"http://127.0.0.1:{port}/v1.0", lambda force: "t", timeout=0.5, sleep=sleeps
        )
        with pytest.raises(UnreachableError):
            cal.check()


# --------------------------------------------------------------------------- through the app


def test_a_quiet_sync_of_the_app_is_one_graph_request(
    graph: FakeGraph, make_app: Callable[..., Any], make_config: Callable[..., Any]
) -> None:
    from tests.conftest import add_people

    sections = {
        "calendar": {"backend": "microsoft", "timeout_seconds": 5},
        "microsoft": microsoft_section(graph),
    }
    sign_in(make_config(**sections), graph)
    app = make_app(calls={"per_day": 3}, **sections)
    add_people(app, 5)
    assert len(app.plan()) == 3
    app.sync()
    app.sync()
    graph.reset_counts()
    app.sync()
    assert graph.count() == 1 and graph.count("/common/") == 0
    assert graph.requests[0].path.endswith(DELTA)
    assert len(graph.events("syncsvc")) == 3
