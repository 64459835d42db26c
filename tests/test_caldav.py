"""The CalDAV backend against a real Radicale (started by the tests; see radicale_server.py).

syncsvc talks to Radicale through a counting proxy (``radicale.proxy_url``) so the tests can
assert how many HTTP requests a poll costs; "the person's phone" is a second, independent
``caldav`` client talking to Radicale directly.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import caldav
import pytest
from icalendar import Calendar as ICalendar
from icalendar import Event

from syncsvc.calendars.caldav import CaldavCalendar
from syncsvc.config import build
from syncsvc.errors import (
    AuthError,
    BackendError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    UnreachableError,
)

try:  # tests/ as a package (tests/__init__.py) or as a plain folder on sys.path
    from tests.calendar_contract import (
        App,
        AppView,
        CalendarContract,
        Foreign,
        app_touch_ics,
        app_view_ics,
        by_uid,
        foreign_event_ics,
        make_event,
    )
    from tests.radicale_server import PASSWORD, USER, RadicaleServer, radicale_fixture
except ImportError:  # pragma: no cover
    from calendar_contract import (  # type: ignore[no-redef]
        App,
        AppView,
        CalendarContract,
        Foreign,
        app_touch_ics,
        app_view_ics,
        by_uid,
        foreign_event_ics,
        make_event,
    )
    from radicale_server import (  # type: ignore[no-redef]
        PASSWORD,
        USER,
        RadicaleServer,
        radicale_fixture,
    )

radicale = radicale_fixture("module")

TIMEOUT = 5


def new_calendar(url: str, name: str | None = None, **kw: Any) -> CaldavCalendar:
    return CaldavCalendar(
        url=url,
        username=kw.pop("username", USER),
        password=kw.pop("password", PASSWORD),
        calendar=name or f"Test {uuid.uuid4().hex[:8]}",
        timeout=kw.pop("timeout", TIMEOUT),
    )


class Phone:
    """The person's phone: an independent caldav client editing events directly."""

    def __init__(self, server: RadicaleServer, collection_path: str) -> None:
        self.client = caldav.DAVClient(url=server.url, username=USER, password=PASSWORD)
        self.cal = self.client.calendar(url=server.url.rstrip("/") + collection_path)

    def event(self, uid: str) -> Any:
        return self.cal.object_by_uid(uid)

    def edit(
        self,
        uid: str,
        description: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        summary: str | None = None,
        delete: bool = False,
    ) -> None:
        obj = self.event(uid)
        if delete:
            obj.delete()
            return
        ical = ICalendar.from_ical(obj.data)
        vevent = next(iter(ical.walk("VEVENT")))
        for name, value in (
            ("description", description),
            ("summary", summary),
            ("dtstart", start),
            ("dtend", end),
        ):
            if value is not None:
                vevent.pop(name.upper(), None)
                vevent.add(name, value)
        ical.add_missing_timezones()
        obj.data = ical.to_ical().decode()
        obj.save()

    def add_foreign(self, uid: str, summary: str = "Dentist") -> str:
        ical = ICalendar()
        ical.add("prodid", "-//phone//EN")
        ical.add("version", "2.0")
        ev = Event.new(uid=uid, summary=summary)
        ev.add("dtstart", datetime(2026, 6, 16, 9, 0))
        ev.add("dtend", datetime(2026, 6, 16, 10, 0))
        ical.add_component(ev)
        obj = self.cal.add_event(ical.to_ical().decode())
        return str(obj.url)

    def etag(self, uid: str) -> str:
        resp = self.client.request(str(self.event(uid).url), "GET")
        return str(resp.headers["ETag"])

    def uids(self) -> list[str]:
        return sorted(str(o.icalendar_component["UID"]) for o in self.cal.events())


@pytest.fixture
def calendar(radicale: RadicaleServer) -> Iterator[CaldavCalendar]:
    cal = new_calendar(radicale.proxy_url)
    cal.check()  # discover/create now, so tests count only their own requests
    yield cal
    cal.close()


@pytest.fixture
def phone(radicale: RadicaleServer, calendar: CaldavCalendar) -> Phone:
    return Phone(radicale, calendar._collection_path)


@pytest.fixture
def edit_remote(phone: Phone) -> Callable[..., None]:
    return phone.edit


class TestCaldavContract(CalendarContract):
    @pytest.fixture
    def add_foreign(self, phone: Phone) -> Callable[[str], None]:
        def add(uid: str) -> None:
            phone.add_foreign(uid)

        return add

    @pytest.fixture
    def add_foreign_event(self, phone: Phone) -> Callable[[Foreign], None]:
        def add(event: Foreign) -> None:
            phone.cal.add_event(foreign_event_ics(event).decode())

        return add

    @pytest.fixture
    def app(self, phone: Phone) -> App:
        return CaldavApp(phone)


class CaldavApp(App):
    """The phone's calendar app saving its own additions through CalDAV."""

    def __init__(self, phone: Phone) -> None:
        self.phone = phone

    def touch(self, uid: str, location: str | None = None) -> None:
        obj = self.phone.event(uid)
        obj.data = app_touch_ics(obj.data, location).decode()
        obj.save()

    def view(self, uid: str) -> AppView:
        return app_view_ics(self.phone.event(uid).data)


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text.strip() and "\n" not in text, text
    return text


def requests_since(radicale: RadicaleServer, mark: int) -> list[tuple[str, str, int]]:
    return radicale.proxy.since(mark)


def hrefs_in(body: bytes) -> list[str]:
    return re.findall(r"<D:href>([^<]*)</D:href>", body.decode())


# --------------------------------------------------------------------------- request counts


@pytest.fixture
def proxy(radicale: RadicaleServer) -> Iterator[Any]:
    """The fault-injecting proxy in front of the (module-wide) server; faults a test arms
    and does not use up are cleared when it ends, pass or fail, so none leaks into the next."""
    try:
        yield radicale.proxy
    finally:
        radicale.proxy.reset()


def test_poll_with_nothing_changed_costs_one_request(
    radicale: RadicaleServer, calendar: CaldavCalendar, phone: Phone
) -> None:
    for n in (1, 2, 3):
        calendar.create(make_event(n))
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    assert len(known) == 3

    mark = radicale.proxy.count
    second = calendar.changes(first.token, known)
    assert second.changed == [] and second.deleted == []
    assert [m for m, _, _ in requests_since(radicale, mark)] == ["REPORT"]

    # the person edits one: the REPORT plus one multiget of exactly that event
    phone.edit("call0002", description="done\n")
    mark = radicale.proxy.count
    third = calendar.changes(second.token, known)
    assert [e.uid for e in third.changed] == ["call0002"]
    reqs = requests_since(radicale, mark)
    assert [m for m, _, _ in reqs] == ["REPORT", "REPORT"]
    assert len(hrefs_in(radicale.proxy.bodies[mark + 1])) == 1

    # our own write does not cost a download on the next poll
    known["call0002"] = third.changed[0].etag
    known["call0001"] = calendar.update(make_event(1, summary="Call Person One"), known["call0001"])
    mark = radicale.proxy.count
    fourth = calendar.changes(third.token, known)
    assert fourth.changed == [] and fourth.deleted == []
    assert radicale.proxy.count - mark == 1


def test_a_new_process_with_a_stored_token_polls_cheaply(
    radicale: RadicaleServer, calendar: CaldavCalendar
) -> None:
    calendar.create(make_event(1))
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    again = new_calendar(radicale.proxy_url, calendar.calendar)
    again.check()
    mark = radicale.proxy.count
    result = again.changes(first.token, known)
    assert (result.changed, result.deleted) == ([], [])
    assert radicale.proxy.count - mark == 1


def test_create_request_headers(radicale: RadicaleServer, calendar: CaldavCalendar) -> None:
    mark = radicale.proxy.count
    etag = calendar.create(make_event(5))
    reqs = requests_since(radicale, mark)
    assert [(m, s) for m, _, s in reqs] == [("PUT", 201)]
    assert reqs[0][1].endswith("/call0005.ics")
    assert etag.startswith('"')  # the server's ETag, verbatim
    # crash recovery: the second PUT gets 412 and we ask for the etag
    mark = radicale.proxy.count
    assert calendar.create(make_event(5)) == etag
    assert [(m, s) for m, _, s in requests_since(radicale, mark)] == [
        ("PUT", 412),
        ("PROPFIND", 207),
    ]


# --------------------------------------------------------------------------- sync tokens


@pytest.mark.parametrize(
    "bad_token",
    ["garbage", "http://radicale.org/ns/sync/" + "0" * 64, "fake-1234"],
)
def test_invalid_token_resyncs_by_etag_without_full_download(
    radicale: RadicaleServer, calendar: CaldavCalendar, phone: Phone, bad_token: str
) -> None:
    for n in (1, 2, 3, 4):
        calendar.create(make_event(n))
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    phone.edit("call0003", description="no answer\n")
    phone.edit("call0004", delete=True)
    known["call0009"] = '"gone-long-ago"'  # known to us, not on the server any more

    mark = radicale.proxy.count
    result = calendar.changes(bad_token, known)
    assert [e.uid for e in result.changed] == ["call0003"]
    assert result.changed[0].description == "no answer\n"
    assert sorted(result.deleted) == ["call0004", "call0009"]
    assert result.token and result.token != bad_token and not result.token.startswith("fake-")
    reqs = requests_since(radicale, mark)
    # (a rejected REPORT unless the token is caldav's fake one), a fresh etag listing,
    # and one multiget of the single changed event: never the whole calendar
    assert [m for m, _, _ in reqs] == ["REPORT"] * len(reqs)
    assert len(reqs) == (2 if bad_token.startswith("fake-") else 3)
    assert hrefs_in(radicale.proxy.bodies[-1]) == [reqs[-1][1] + "call0003.ics"]

    # and the new token works: nothing changed -> one request, no duplicates
    known = {uid: etag for uid, etag in known.items() if uid in {"call0001", "call0002"}}
    known["call0003"] = result.changed[0].etag
    mark = radicale.proxy.count
    again = calendar.changes(result.token, known)
    assert again.changed == [] and again.deleted == []
    assert radicale.proxy.count - mark == 1


def test_full_listing_with_known_fetches_only_differences(
    radicale: RadicaleServer, calendar: CaldavCalendar
) -> None:
    for n in (1, 2):
        calendar.create(make_event(n))
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    mark = radicale.proxy.count
    again = calendar.changes(None, known)
    assert again.changed == [] and again.deleted == []
    assert radicale.proxy.count - mark == 1


def test_server_without_sync_collection_polls_by_etag_listing(
    radicale: RadicaleServer, calendar: CaldavCalendar, phone: Phone, proxy: Any
) -> None:
    calendar.create(make_event(1))
    calendar.create(make_event(2))
    proxy.fail("REPORT", 501)  # the first sync-collection REPORT is "not implemented"
    first = calendar.changes(None, {})
    assert sorted(e.uid for e in first.changed) == ["call0001", "call0002"]
    known = {e.uid: e.etag for e in first.changed}
    mark = radicale.proxy.count
    second = calendar.changes(first.token, known)
    assert second.changed == [] and second.deleted == []
    assert [m for m, _, _ in requests_since(radicale, mark)] == ["PROPFIND"]
    phone.edit("call0001", description="busy\n")
    phone.edit("call0002", delete=True)
    third = calendar.changes(second.token, known)
    assert [e.uid for e in third.changed] == ["call0001"]
    assert third.deleted == ["call0002"]


# --------------------------------------------------------------------------- the phone


def test_phone_edits_move_and_delete_are_reported(calendar: CaldavCalendar, phone: Phone) -> None:
    events = [make_event(n) for n in (1, 2, 3, 4)]
    for event in events:
        calendar.create(event)
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}

    moved = datetime(2026, 7, 3, 18, 30, tzinfo=events[1].start.tzinfo)
    phone.edit("call0001", description=events[0].description + "talked\nref: Jane Roe\n")
    phone.edit("call0002", start=moved, end=moved.replace(minute=50))
    phone.edit("call0003", delete=True)

    result = calendar.changes(first.token, known)
    changed = by_uid(result.changed)
    assert set(changed) == {"call0001", "call0002"}
    assert changed["call0001"].description.endswith("talked\nref: Jane Roe\n")
    assert changed["call0002"].start == moved
    assert changed["call0002"].description == events[1].description
    assert result.deleted == ["call0003"]


def test_conflict_keeps_the_persons_text(calendar: CaldavCalendar, phone: Phone) -> None:
    event = make_event(1)
    etag = calendar.create(event)
    persons = event.description + "done, she knows Bob\n"
    phone.edit(event.uid, description=persons)
    with pytest.raises(ConflictError) as info:
        calendar.update(dataclasses.replace(event, description="overwritten"), etag)
    assert "call0001" in one_line(info.value)
    assert phone.event(event.uid).icalendar_component["DESCRIPTION"] == persons
    # a delete with the stale etag does not remove the person's version either
    with pytest.raises(ConflictError):
        calendar.delete(event.uid, etag)
    assert phone.uids() == [event.uid]


def test_foreign_events_are_never_returned_changed_or_deleted(
    calendar: CaldavCalendar, phone: Phone
) -> None:
    # one foreign event even sits at the href syncsvc would use for its uid
    phone.add_foreign("dentist-1")
    foreign_etag = phone.etag("dentist-1")
    calendar.create(make_event(1))
    first = calendar.changes(None, {})
    assert [e.uid for e in first.changed] == ["call0001"]
    assert phone.etag("dentist-1") == foreign_etag  # syncsvc's create did not touch it
    known = {e.uid: e.etag for e in first.changed}

    phone.edit("dentist-1", description="bring the insurance card")
    edited = phone.etag("dentist-1")
    phone.add_foreign("gym-2")
    second = calendar.changes(first.token, known)
    assert second.changed == [] and second.deleted == []
    assert phone.etag("dentist-1") == edited != foreign_etag
    desc = phone.event("dentist-1").icalendar_component["DESCRIPTION"]
    assert desc == "bring the insurance card"
    phone.edit("gym-2", delete=True)
    phone.edit("dentist-1", delete=True)
    third = calendar.changes(second.token, known)
    assert third.changed == [] and third.deleted == []
    # a resync from scratch still lists only ours
    assert [e.uid for e in calendar.changes(None, {}).changed] == ["call0001"]


# --------------------------------------------------------------------------- errors


def test_wrong_password_is_one_line_auth_error(radicale: RadicaleServer) -> None:
    secret = "hunter2-not-the-password"
    cal = new_calendar(radicale.url, password=secret)
    with pytest.raises(AuthError) as info:
        cal.create(make_event(1))
    text = one_line(info.value)
    assert secret not in text and PASSWORD not in text
    assert radicale.url.rstrip("/") in text
    assert "password_command" in text and "username" in text
    assert secret not in repr(cal) and secret not in cal.key


def test_unknown_calendar_url_is_not_found(radicale: RadicaleServer) -> None:
    names = (f"/{USER}/no-such-calendar/", radicale.url + f"{USER}/nope/", "/bob/calendar/")
    for name in names:
        cal = new_calendar(radicale.url, name)
        with pytest.raises(NotFoundError) as info:
            cal.changes(None, {})
        text = one_line(info.value)
        assert radicale.url.rstrip("/") in text and "calendar" in text


def test_calendar_by_url_and_by_display_name(radicale: RadicaleServer) -> None:
    name = f"Networking {uuid.uuid4().hex[:6]}"
    first = new_calendar(radicale.url, name)
    first.create(make_event(1))  # creates the calendar
    by_name = new_calendar(radicale.url, name)
    by_url = new_calendar(radicale.url, first._collection_path)
    for cal in (by_name, by_url):
        assert [e.uid for e in cal.changes(None, {}).changed] == ["call0001"]
        assert "\n" not in cal.check()
    assert by_name._collection == first._collection


def test_calendar_that_cannot_be_created_is_not_found(radicale: RadicaleServer, proxy: Any) -> None:
    proxy.fail("MKCALENDAR", 403)
    cal = new_calendar(radicale.proxy_url)
    with pytest.raises(NotFoundError) as info:
        cal.check()
    text = one_line(info.value)
    assert cal.calendar in text and radicale.proxy_url.rstrip("/") in text


def test_server_errors_are_retryable_backend_errors(
    radicale: RadicaleServer, calendar: CaldavCalendar, proxy: Any
) -> None:
    proxy.fail("PUT", 500)
    with pytest.raises(BackendError) as info:
        calendar.create(make_event(1))
    assert type(info.value) is BackendError
    assert "500" in one_line(info.value)
    proxy.fail("REPORT", 429)
    with pytest.raises(RateLimitedError):
        calendar.changes(None, {})
    proxy.fail("REPORT", 503)
    with pytest.raises(BackendError):
        calendar.changes(None, {})
    # and then it works again, with exactly one event
    calendar.create(make_event(1))
    assert [e.uid for e in calendar.changes(None, {}).changed] == ["call0001"]


def test_server_down_then_back(radicale: RadicaleServer) -> None:
    cal = new_calendar(radicale.url, timeout=3)
    cal.create(make_event(1))
    phone = Phone(radicale, cal._collection_path)
    radicale.stop()
    try:
        started = time.monotonic()
        with pytest.raises(UnreachableError) as info:
            cal.create(make_event(2))
        assert time.monotonic() - started < 3
        text = one_line(info.value)
        assert radicale.url.rstrip("/") in text and PASSWORD not in text
        with pytest.raises(UnreachableError):
            cal.changes(None, {})
    finally:
        radicale.start()
    etag2 = cal.create(make_event(2))
    assert cal.create(make_event(2)) == etag2
    cal.create(make_event(1))  # the retry of an event written before the outage
    assert phone.uids() == ["call0001", "call0002"]
    assert sorted(e.uid for e in cal.changes(None, {}).changed) == ["call0001", "call0002"]


def test_unresponsive_server_times_out() -> None:
    with socket.socket() as sock:  # accepts connections, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(5)
        conns: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    conns.append(sock.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        cal = new_calendar(f"http://127.0.0.1:{sock.getsockname()[1]}/", timeout=1)
        started = time.monotonic()
        try:
            with pytest.raises(UnreachableError) as info:
                cal.changes(None, {})
        finally:
            stop.set()
            thread.join()
            for c in conns:
                c.close()
        assert time.monotonic() - started < 4
        assert "1 s" in one_line(info.value)


def test_connection_refused_and_unknown_host() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UnreachableError) as info:
        new_calendar(f"http://127.0.0.1:{port}/", timeout=2).changes(None, {})
    assert "refused" in one_line(info.value)
    with pytest.raises(UnreachableError) as info:
        new_calendar("http://no-such-host.invalid/", timeout=2).changes(None, {})
    one_line(info.value)


def test_tls_failure_mentions_the_certificate(radicale: RadicaleServer) -> None:
    # speaking TLS to a plain-HTTP server fails the handshake
    cal = new_calendar(radicale.url.replace("http://", "https://"), timeout=2)
    with pytest.raises(UnreachableError) as info:
        cal.changes(None, {})
    assert "certificate" in one_line(info.value)


def test_untrusted_certificate_is_unreachable_and_says_so(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(5)
        sock.settimeout(5)

        def serve() -> None:  # handshake attempts only; the client gives up
            for _ in range(3):
                try:
                    conn, _addr = sock.accept()
                except OSError:
                    return
                try:
                    context.wrap_socket(conn, server_side=True).close()
                except OSError:
                    conn.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        cal = new_calendar(f"https://127.0.0.1:{sock.getsockname()[1]}/", timeout=3)
        with pytest.raises(UnreachableError) as info:
            cal.changes(None, {})
        text = one_line(info.value)
        assert "certificate" in text and "self-signed" in text, text


def test_from_config_reads_the_password_from_the_environment(
    radicale: RadicaleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCSVC_TEST_CALDAV_PW", PASSWORD)
    config = build(
        {
            "calendar": {
                "backend": "caldav",
                "url": radicale.url,
                "username": USER,
                "calendar": "From Config",
                "password_env": "SYNCSVC_TEST_CALDAV_PW",
                "timeout_seconds": 7,
            }
        },
        None,
    )
    cal = CaldavCalendar.from_config(config)
    assert cal.timeout == 7
    assert cal.key == f"caldav:{radicale.url}#From Config"
    assert PASSWORD not in cal.key
    assert "From Config" in cal.check()


def test_importing_calendars_does_not_import_caldav() -> None:
    code = "import sys, syncsvc.calendars, syncsvc.calendars.base; print('caldav' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
