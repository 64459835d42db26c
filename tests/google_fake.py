"""A loopback fake of the Google APIs syncsvc uses, following Google's documented behaviour.

It serves the real google-api-python-client (static discovery documents) over plain HTTP on
127.0.0.1, so tests run the client's own URL building, JSON and error handling:

- Calendar v3, ``{url}calendar/v3/``: ``calendars/{calendarId}/events`` insert (client-chosen
  ids: base32hex ``[0-9a-v]{5,1024}``, 409 when the id exists, cancelled included), get, update
  (PUT; ``If-Match`` -> 412 when stale), delete (-> ``status: cancelled``; 410 when deleted
  already), list (``showDeleted``, ``maxResults``/``pageToken`` pagination,
  ``privateExtendedProperty`` filters, ``nextSyncToken`` on the last page, ``syncToken``
  incremental listing including cancelled entries, 410 for an unknown or expired token, 400 for
  a filter combined with ``syncToken``). Cancelled entries in a listing carry only id, etag and
  status ("only the id field is guaranteed"). ``singleEvents=true`` expands a recurring event's
  ``recurrence`` RRULEs into instances (id ``{id}_{UTC start}``, ``recurringEventId``), in the
  event's ``timeZone``, so ``timeMin``/``timeMax`` select occurrences.
- People v1, ``{url}people/``: ``v1/people/me/connections`` with ``personFields`` (required; only
  those fields are returned), ``pageSize`` (<= 1000, default 100), ``pageToken``,
  ``requestSyncToken``, ``syncToken`` (changes only; deleted contacts as ``metadata.deleted``;
  400 ``EXPIRED_SYNC_TOKEN`` when expired or unknown).
- OAuth token endpoint, ``{url}token``: ``grant_type=refresh_token`` -> a new access token
  (living ``token_lifetime`` seconds, with the scopes granted to that refresh token), or 400
  ``{"error": "invalid_grant"}`` for a revoked or unknown refresh token.
- Credentials, as Google checks them: every API request must carry ``Authorization: Bearer
  <token>`` with an access token this fake issued and that has not expired (else 401
  ``authError`` with ``WWW-Authenticate``, which google-auth answers with one refresh); the
  token's scopes must allow the API (Calendar: ``calendar`` or ``calendar.events``; People:
  ``contacts`` or ``contacts.readonly``; ``freeBusy``: ``calendar``, ``calendar.readonly``,
  ``calendar.freebusy`` or ``calendar.events.freebusy``, *not* ``calendar.events`` alone), else
  403 ``insufficientPermissions``. ``write_token_file`` signs a test in: it writes a token file
  as ``syncsvc auth google`` does, with ``token_uri`` pointing at this fake.
- Sync tokens as Google hands them out: no ``nextSyncToken`` for a listing with
  ``singleEvents=true`` or ``orderBy``; ``filtered_sync_tokens`` decides whether a
  ``privateExtendedProperty``-filtered listing gets one (unverified at Google, so tests run
  both ways).
- Updating a deleted (cancelled) event answers 403 ``forbidden``, as Google does; deleting it
  again 410.

Test switches: ``fail_next(n, kind)`` answers the next n API requests with 429, 403
``rateLimitExceeded``/``userRateLimitExceeded``, 500 or 503 (Google's JSON error bodies);
``requests`` logs every request (``count()``); ``ui_*`` helpers act as the person in Google's
web UI (HTML descriptions, delete, move). Sign-in: ``write_token_file(path)`` /
``service(name, version, config=...)`` (production's ``load_credentials`` + ``build_service``),
``grant(scopes)``, ``revoke()``, ``expire_access_tokens()``, ``expire_access_tokens_after(n)``
(mid-run), ``token_lifetime``; ``filtered_sync_tokens`` (see above).

Use from a test module::

    from tests.google_fake import google_fake_fixture   # or `from google_fake ...`
    google = google_fake_fixture()   # a fresh fake per test; google_fake_fixture("module") too
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from syncsvc.google_auth import SCOPES as PRODUCT_SCOPES

EVENT_ID = re.compile(r"[0-9a-v]{5,1024}")
SYNC_FORBIDDEN = (
    "timeMin",
    "timeMax",
    "updatedMin",
    "q",
    "orderBy",
    "iCalUID",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)

_AUTH = "https://www.googleapis.com/auth/"
CALENDAR_SCOPES = frozenset({_AUTH + "calendar", _AUTH + "calendar.events"})
PEOPLE_SCOPES = frozenset({_AUTH + "contacts", _AUTH + "contacts.readonly"})
FREEBUSY_SCOPES = frozenset(
    {
        _AUTH + "calendar",
        _AUTH + "calendar.readonly",
        _AUTH + "calendar.freebusy",
        _AUTH + "calendar.events.freebusy",
    }
)
CLIENT_ID = "123-fake.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret"


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)


def google_error(status: int, reason: str, message: str, domain: str = "global") -> Reply:
    """Google's v3 JSON error body: ``{"error": {"errors": [...], "code", "message"}}``."""
    return Reply(
        status,
        {
            "error": {
                "errors": [{"domain": domain, "reason": reason, "message": message}],
                "code": status,
                "message": message,
            }
        },
    )


def rpc_error(status: int, rpc_status: str, message: str, reason: str | None = None) -> Reply:
    """Google's v1 (gRPC-style) JSON error body, as the People API answers."""
    err: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if reason:
        err["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "people.googleapis.com",
            }
        ]
    return Reply(status, {"error": err})


FAILURES: dict[str, Callable[[], Reply]] = {
    "429": lambda: google_error(429, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
    "403": lambda: google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
    "403user": lambda: google_error(
        403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits"
    ),
    "403quota": lambda: google_error(
        403, "quotaExceeded", "Calendar usage limits exceeded.", "usageLimits"
    ),
    "500": lambda: google_error(500, "backendError", "Backend Error"),
    "503": lambda: google_error(503, "backendError", "The service is currently unavailable."),
    "401": lambda: unauthorized(),
}


def as_rpc(reply: Reply) -> Reply:
    """A v3 error (``error.errors[].reason``) in the v1 RPC shape the People API answers with:
    ``error.status`` and an ``ErrorInfo`` carrying the reason in ``error.details``."""
    err = reply.body["error"]
    status = err.get("status") or _RPC_STATUS.get(reply.status, "UNKNOWN")
    reason = err["errors"][0]["reason"] if err.get("errors") else None
    out = rpc_error(reply.status, status, err["message"], reason=reason)
    out.headers.update(reply.headers)
    return out


_RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

#: fail_next for People requests: its own RPC-style bodies (rate limits are 429
#: RESOURCE_EXHAUSTED / RATE_LIMIT_EXCEEDED there)
PEOPLE_FAILURES: dict[str, Callable[[], Reply]] = {
    "429": lambda: rpc_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute "
        "per user' of service 'people.googleapis.com'.",
        reason="RATE_LIMIT_EXCEEDED",
    ),
    "403": lambda: as_rpc(FAILURES["403"]()),
    "403user": lambda: as_rpc(FAILURES["403user"]()),
    "403quota": lambda: as_rpc(FAILURES["403quota"]()),
    "500": lambda: rpc_error(500, "INTERNAL", "Internal error encountered."),
    "503": lambda: rpc_error(503, "UNAVAILABLE", "The service is currently unavailable."),
    "401": lambda: as_rpc(unauthorized()),
}


def unauthorized() -> Reply:
    """Google's 401 for a missing, unknown or expired access token."""
    reply = google_error(401, "authError", "Invalid Credentials")
    reply.body["error"]["status"] = "UNAUTHENTICATED"
    reply.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return reply


def insufficient_scope() -> Reply:
    reply = google_error(403, "insufficientPermissions", "Insufficient Permission")
    reply.body["error"]["message"] = "Request had insufficient authentication scopes."
    reply.body["error"]["status"] = "PERMISSION_DENIED"
    return reply


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeGoogle:
    """State and behaviour of the fake; the HTTP server calls ``handle``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.url = ""  # set by start(): "http://127.0.0.1:PORT/"
        self.requests: list[Seen] = []
        self._failures: deque[str] = deque()  # kinds of FAILURES, answered per API
        self._seq = itertools.count(1)
        # calendar: calendar id -> event id -> stored event (with "_seq")
        self.calendars: dict[str, dict[str, dict[str, Any]]] = {"primary": {}}
        self._cal_tokens: dict[str, tuple[str, int]] = {}  # sync token -> (calendar, seq)
        self._pages: dict[str, dict[str, Any]] = {}  # page token -> rest of a listing
        # people: resourceName -> stored person (with "_seq", "_deleted")
        self.people: dict[str, dict[str, Any]] = {}
        self._people_tokens: dict[str, int] = {}
        self._contact_no = itertools.count(1001)
        # oauth
        self.refresh_tokens: set[str] = set()  # valid ones; anything else is invalid_grant
        self.granted: dict[str, frozenset[str]] = {}  # refresh token -> scopes (default: ours)
        self.access_tokens: list[str] = []  # issued, in order
        self._access: dict[str, tuple[float, frozenset[str]]] = {}  # token -> (expiry, scopes)
        self.token_lifetime = 3599.0  # seconds an access token lives (Google: an hour)
        self.require_auth = True  # False: a server that checks nothing (fault proxies only)
        self._expire_after: int | None = None  # API requests until every access token expires
        # Does a privateExtendedProperty-filtered listing get a nextSyncToken? Unverified at
        # Google; syncsvc must keep one request per quiet poll either way.
        self.filtered_sync_tokens = True
        self._scratch: list[str] = []  # token folders of service(), removed by stop()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeGoogle:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="google-fake", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for folder in self._scratch:
            shutil.rmtree(folder, ignore_errors=True)
        self._scratch.clear()

    @property
    def calendar_endpoint(self) -> str:
        return self.url + "calendar/v3/"

    @property
    def people_endpoint(self) -> str:
        return self.url + "people/"

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    # ------------------------------------------------------------------ test switches

    def fail_next(self, n: int, kind: str = "429") -> None:
        """Answer the next ``n`` API requests with an error: 429, 403, 403user, 403quota,
        500, 503 or 401 (Google's JSON error bodies)."""
        with self.lock:
            for _ in range(n):
                if kind not in FAILURES:
                    raise KeyError(kind)
                self._failures.append(kind)

    def count(self, prefix: str = "/", method: str | None = None) -> int:
        """Requests seen whose path starts with ``prefix`` (and of ``method``)."""
        with self.lock:
            return sum(
                1
                for r in self.requests
                if r.path.startswith(prefix) and (method is None or r.method == method)
            )

    def grant(self, scopes: list[str] | None = None) -> str:
        """A refresh token the fake accepts, granted ``scopes`` (default: syncsvc's)."""
        with self.lock:
            refresh = f"1//fake-refresh-{secrets.token_hex(8)}"
            self.refresh_tokens.add(refresh)
            self.granted[refresh] = frozenset(scopes if scopes is not None else PRODUCT_SCOPES)
            return refresh

    def revoke(self, refresh_token: str | None = None) -> None:
        """The person revoked access (or the 7-day "Testing" refresh token ran out): refreshing
        answers ``invalid_grant`` from now on; ``None`` revokes every refresh token."""
        with self.lock:
            if refresh_token is None:
                self.refresh_tokens.clear()
            else:
                self.refresh_tokens.discard(refresh_token)

    def token_info(self, scopes: list[str] | None = None) -> dict[str, Any]:
        """A signed-in token file's content, as ``syncsvc auth google`` stores it: a fresh
        access token issued by this fake, a refresh token it accepts, its ``token_uri``."""
        with self.lock:
            refresh = self.grant(scopes)
            access, expiry = self._issue(self.granted[refresh])
            return {
                "token": access,
                "refresh_token": refresh,
                "token_uri": self.token_uri,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scopes": sorted(self.granted[refresh]),
                "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }

    def write_token_file(self, path: Any, scopes: list[str] | None = None) -> str:
        """Sign in: write the token file at ``path`` (mode 0600); returns the refresh token."""
        from pathlib import Path

        from syncsvc.paths import write_private_file

        info = self.token_info(scopes)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_private_file(Path(path), json.dumps(info))
        return str(info["refresh_token"])

    def service(
        self,
        name: str,
        version: str,
        *,
        timeout: float = 5.0,
        scopes: list[str] | None = None,
        config: Any = None,
        api_endpoint: str | None = None,
    ) -> Any:
        """A service built as production builds it: a token file (signed in to this fake),
        ``load_credentials`` on it, ``build_service`` with those credentials; only the API
        endpoint (and ``token_uri``) point here. ``config``: whose token file (default: one
        in a scratch folder); ``api_endpoint``: e.g. a fault proxy in front of this fake."""
        from pathlib import Path

        from syncsvc.config import Config
        from syncsvc.google_api import build_service
        from syncsvc.google_auth import load_credentials

        if config is None:
            folder = tempfile.mkdtemp(prefix="google-fake-")
            self._scratch.append(folder)
            config = Config(data_dir=Path(folder))
        if not config.google_token_path.exists():
            self.write_token_file(config.google_token_path, scopes)
        creds = load_credentials(config, token_uri=self.token_uri)
        endpoint = api_endpoint or (
            self.people_endpoint if name == "people" else self.calendar_endpoint
        )
        return build_service(name, version, creds, timeout, api_endpoint=endpoint)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (the client does not know yet)."""
        with self.lock:
            self._access = {t: (0.0, scopes) for t, (_, scopes) in self._access.items()}

    def expire_access_tokens_after(self, n: int) -> None:
        """After the next ``n`` API requests, every access token expires: mid-sync."""
        with self.lock:
            self._expire_after = n

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    def expire_sync_tokens(self) -> None:
        """Every calendar sync token is gone: the next syncToken listing answers 410."""
        with self.lock:
            self._cal_tokens.clear()

    def expire_people_tokens(self) -> None:
        """Every People sync token is expired (Google: after 7 days)."""
        with self.lock:
            self._people_tokens.clear()

    def add_calendar(self, calendar_id: str) -> None:
        with self.lock:
            self.calendars.setdefault(calendar_id, {})

    # ------------------------------------------------------------------ the person, web UI

    def event(self, event_id: str, calendar_id: str = "primary") -> dict[str, Any]:
        """A copy of the stored event (without fake-internal keys)."""
        with self.lock:
            return _public(self.calendars[calendar_id][event_id])

    def events(self, calendar_id: str = "primary", deleted: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            return [
                _public(e)
                for e in self.calendars[calendar_id].values()
                if deleted or e.get("status") != "cancelled"
            ]

    def ui_edit(
        self,
        event_id: str,
        *,
        description: str | None = None,
        summary: str | None = None,
        calendar_id: str = "primary",
    ) -> None:
        """Set fields as stored by the web UI (``description`` is taken as the HTML to store)."""
        with self.lock:
            ev = self.calendars[calendar_id][event_id]
            if description is not None:
                ev["description"] = description
            if summary is not None:
                ev["summary"] = summary
            self._touch(ev)

    def ui_write_notes(self, event_id: str, text: str, calendar_id: str = "primary") -> None:
        """Type ``text`` at the end of the description in the web editor: the whole
        description comes back as HTML (``<br>`` line breaks, ``&nbsp;``, entities)."""
        with self.lock:
            ev = self.calendars[calendar_id][event_id]
            stored = str(ev.get("description", ""))
            # HTML stays HTML (syncsvc writes it so); plain text is converted on save
            old = stored if re.search(r"<br>|</\w+>", stored) else _web_html(stored)
            ev["description"] = old + "<br>" + _web_html(text)
            self._touch(ev)

    def ui_delete(self, event_id: str, calendar_id: str = "primary") -> None:
        with self.lock:
            ev = self.calendars[calendar_id][event_id]
            ev["status"] = "cancelled"
            self._touch(ev)

    def ui_move(
        self, event_id: str, start: datetime, end: datetime, calendar_id: str = "primary"
    ) -> None:
        """Drag the event to a new time (the web UI keeps the event's time zone)."""
        with self.lock:
            ev = self.calendars[calendar_id][event_id]
            for key, when in (("start", start), ("end", end)):
                zone = ev.get(key, {}).get("timeZone")
                ev[key] = {"dateTime": when.isoformat()}
                if zone:
                    ev[key]["timeZone"] = zone
            self._touch(ev)

    def ui_create(
        self,
        summary: str,
        start: datetime | date,
        end: datetime | date,
        calendar_id: str = "primary",
        event_id: str | None = None,
        *,
        transparent: bool = False,
        recurrence: list[str] | None = None,
    ) -> str:
        """An event of the person's own (not syncsvc's); a server-chosen id by default.

        Dates (not datetimes) make an all-day event; ``transparent`` marks it free;
        ``recurrence`` (e.g. ``["RRULE:FREQ=WEEKLY"]``) repeats it in its start's zone."""
        with self.lock:
            eid = event_id or secrets.token_hex(13)  # 0-9a-f: valid base32hex
            ev: dict[str, Any] = {
                "kind": "calendar#event",
                "id": eid,
                "status": "confirmed",
                "summary": summary,
                "created": _now(),
                "start": _when(start, with_zone=bool(recurrence)),
                "end": _when(end, with_zone=bool(recurrence)),
            }
            if transparent:
                ev["transparency"] = "transparent"
            if recurrence:
                ev["recurrence"] = list(recurrence)
            self.calendars[calendar_id][eid] = ev
            self._touch(ev)
            return eid

    def purge(self, event_id: str, calendar_id: str = "primary") -> None:
        """Forget an event entirely (a deletion old enough to have dropped out of listings)."""
        with self.lock:
            del self.calendars[calendar_id][event_id]

    # ------------------------------------------------------------------ contacts

    def add_contact(
        self,
        given: str = "",
        family: str = "",
        *,
        emails: list[str] | None = None,
        phones: list[str] | None = None,
        org: str | None = None,
        title: str | None = None,
        bio: str | None = None,
        unstructured: str | None = None,
    ) -> str:
        with self.lock:
            rn = f"people/c{next(self._contact_no)}"
            person: dict[str, Any] = {"resourceName": rn}
            display = " ".join(p for p in (given, family) if p)
            if display or unstructured:
                name: dict[str, Any] = {"metadata": {"primary": True}}
                if display:
                    name.update(displayName=display, givenName=given, familyName=family)
                if unstructured:
                    name["unstructuredName"] = unstructured
                person["names"] = [name]
            if emails:
                person["emailAddresses"] = [
                    {"metadata": {"primary": i == 0}, "value": e} for i, e in enumerate(emails)
                ]
            if phones:
                person["phoneNumbers"] = [
                    {"metadata": {"primary": i == 0}, "value": p, "type": "mobile"}
                    for i, p in enumerate(phones)
                ]
            if org or title:
                person["organizations"] = [
                    {"metadata": {"primary": True}, "name": org, "title": title}
                ]
            if bio:
                person["biographies"] = [{"value": bio, "contentType": "TEXT_PLAIN"}]
            self.people[rn] = person
            self._touch_person(person)
            return rn

    def update_contact(self, resource_name: str, **fields: Any) -> None:
        """Replace People fields (``emailAddresses=[{"value": ...}]``, ``names=...``)."""
        with self.lock:
            person = self.people[resource_name]
            person.update(fields)
            self._touch_person(person)

    def delete_contact(self, resource_name: str) -> None:
        with self.lock:
            person = self.people[resource_name]
            person["_deleted"] = True
            self._touch_person(person)

    # ------------------------------------------------------------------ internals

    def _touch(self, ev: dict[str, Any]) -> None:
        seq = next(self._seq)
        ev["_seq"] = seq
        ev["etag"] = f'"{3181161784712000 + seq * 1000}"'
        ev["updated"] = _now()

    def _touch_person(self, person: dict[str, Any]) -> None:
        seq = next(self._seq)
        person["_seq"] = seq
        person["etag"] = "%" + secrets.token_urlsafe(12)
        meta = person.setdefault("metadata", {})
        meta["sources"] = [
            {"type": "CONTACT", "id": person["resourceName"][8:], "etag": person["etag"]}
        ]
        meta["objectType"] = "PERSON"

    def handle(self, seen: Seen, body: bytes) -> Reply:
        with self.lock:
            self.requests.append(seen)
            if seen.path == "/token":
                return self._token(body)
            if self._expire_after is not None:
                if self._expire_after <= 0:
                    self.expire_access_tokens()
                    self._expire_after = None
                else:
                    self._expire_after -= 1
            if self.require_auth:
                denied = self._check_auth(seen)
                if denied is not None:
                    return as_rpc(denied) if seen.path.startswith("/people/") else denied
            if self._failures:
                kind = self._failures.popleft()
                people = seen.path.startswith("/people/")
                return PEOPLE_FAILURES[kind]() if people else FAILURES[kind]()
            try:
                return self._route(seen, body)
            except _Bad as e:
                return e.reply

    def _check_auth(self, seen: Seen) -> Reply | None:
        """401 without a live access token of ours; 403 when its scopes do not cover the API."""
        header = seen.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        known = self._access.get(token) if scheme.lower() == "bearer" else None
        if known is None or known[0] <= time.monotonic():
            return unauthorized()
        scopes = known[1]
        if seen.path.startswith("/calendar/v3/freeBusy"):
            needed = FREEBUSY_SCOPES
        elif seen.path.startswith("/calendar/"):
            needed = CALENDAR_SCOPES
        elif seen.path.startswith("/people/"):
            needed = PEOPLE_SCOPES
        else:
            return None
        return None if scopes & needed else insufficient_scope()

    def _issue(self, scopes: frozenset[str]) -> tuple[str, datetime]:
        token = f"ya29.fake-{len(self.access_tokens) + 1}-{secrets.token_hex(4)}"
        self.access_tokens.append(token)
        self._access[token] = (time.monotonic() + self.token_lifetime, scopes)
        expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=self.token_lifetime)
        return token, expiry

    def _route(self, seen: Seen, body: bytes) -> Reply:
        m = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?", seen.path)
        if m:
            calendar_id = unquote(m[1])
            if calendar_id not in self.calendars:
                raise _Bad(google_error(404, "notFound", "Not Found"))
            cal = self.calendars[calendar_id]
            eid = unquote(m[2]) if m[2] else None
            if eid is None and seen.method == "GET":
                return self._list_events(calendar_id, seen)
            if eid is None and seen.method == "POST":
                return self._insert(cal, _json(body))
            if eid is not None and seen.method == "GET":
                return Reply(200, _public(self._existing(cal, eid)))
            if eid is not None and seen.method == "PUT":
                return self._update(cal, eid, seen, _json(body))
            if eid is not None and seen.method == "DELETE":
                return self._delete(cal, eid, seen)
        if seen.path == "/calendar/v3/freeBusy" and seen.method == "POST":
            return self._freebusy(_json(body))
        if seen.path == "/people/v1/people/me/connections" and seen.method == "GET":
            return self._connections(seen)
        return google_error(404, "notFound", f"no such method: {seen.method} {seen.path}")

    # calendar

    def _existing(self, cal: dict[str, dict[str, Any]], eid: str) -> dict[str, Any]:
        if eid not in cal:
            raise _Bad(google_error(404, "notFound", "Not Found"))
        return cal[eid]

    def _insert(self, cal: dict[str, dict[str, Any]], body: dict[str, Any]) -> Reply:
        eid = body.get("id") or secrets.token_hex(13)
        if not isinstance(eid, str) or not EVENT_ID.fullmatch(eid):
            raise _Bad(google_error(400, "invalid", "Invalid resource id value."))
        if eid in cal:  # cancelled ones too: the id stays taken
            raise _Bad(google_error(409, "duplicate", "The requested identifier already exists."))
        _check_times(body)
        ev = dict(
            body,
            kind="calendar#event",
            id=eid,
            status="confirmed",
            created=_now(),
            iCalUID=f"{eid}@google.com",
            htmlLink=f"{self.url}event?eid={eid}",
        )
        cal[eid] = ev
        self._touch(ev)
        return Reply(200, _public(ev))

    def _check_precondition(self, ev: dict[str, Any], seen: Seen) -> None:
        want = seen.headers.get("if-match")
        if want is not None and want != "*" and want != ev["etag"]:
            raise _Bad(google_error(412, "conditionNotMet", "Precondition Failed"))

    def _update(
        self, cal: dict[str, dict[str, Any]], eid: str, seen: Seen, body: dict[str, Any]
    ) -> Reply:
        ev = self._existing(cal, eid)
        if ev.get("status") == "cancelled" and body.get("status", "confirmed") != "cancelled":
            # Google does not resurrect a deleted event through update (only a re-created
            # event of the same id would); it answers 403 forbidden
            raise _Bad(google_error(403, "forbidden", "Forbidden"))
        self._check_precondition(ev, seen)
        _check_times(body)
        keep = {k: ev[k] for k in ("kind", "id", "created", "iCalUID", "htmlLink") if k in ev}
        new = dict(body, **keep)
        new.setdefault("status", "confirmed")
        cal[eid] = new
        self._touch(new)
        return Reply(200, _public(new))

    def _delete(self, cal: dict[str, dict[str, Any]], eid: str, seen: Seen) -> Reply:
        ev = self._existing(cal, eid)
        if ev.get("status") == "cancelled":
            raise _Bad(google_error(410, "deleted", "Resource has been deleted"))
        self._check_precondition(ev, seen)
        ev["status"] = "cancelled"
        self._touch(ev)
        return Reply(204)

    def _list_events(self, calendar_id: str, seen: Seen) -> Reply:
        page_token = seen.param("pageToken")
        if page_token:
            state = self._pages.pop(page_token, None)
            if state is None or state["calendar"] != calendar_id:
                raise _Bad(google_error(400, "invalid", "Invalid page token value."))
        else:
            state = self._new_listing(calendar_id, seen)
        size = state["size"]
        items, rest = state["items"][:size], state["items"][size:]
        out: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"{next(self._seq)}"',
            "summary": calendar_id,
            "updated": _now(),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": [_listed(e) for e in items],
        }
        if rest:
            token = secrets.token_urlsafe(16)
            self._pages[token] = dict(state, items=rest)
            out["nextPageToken"] = token
        elif state["sync"]:
            token = secrets.token_urlsafe(24)
            self._cal_tokens[token] = (calendar_id, state["seq"])
            out["nextSyncToken"] = token
        return Reply(200, out)

    def _new_listing(self, calendar_id: str, seen: Seen) -> dict[str, Any]:
        try:
            size = int(seen.param("maxResults") or 250)
        except ValueError:
            raise _Bad(google_error(400, "invalid", "Invalid value for maxResults")) from None
        size = max(1, min(size, 2500))
        events = sorted(self.calendars[calendar_id].values(), key=lambda e: e["_seq"])
        now_seq = max((e["_seq"] for e in events), default=0)
        sync_token = seen.param("syncToken")
        if sync_token:
            bad = [p for p in SYNC_FORBIDDEN if p in seen.query]
            if bad or seen.param("showDeleted") == "false":
                raise _Bad(
                    google_error(
                        400,
                        "invalid",
                        f"Sync token cannot be used with {', '.join(bad) or 'showDeleted=false'}",
                    )
                )
            known = self._cal_tokens.get(sync_token)
            if known is None or known[0] != calendar_id:
                raise _Bad(
                    google_error(
                        410,
                        "fullSyncRequired",
                        "Sync token is no longer valid, a full sync is required.",
                    )
                )
            chosen = [e for e in events if e["_seq"] > known[1]]
            now_seq = max(now_seq, known[1])
        else:
            show_deleted = seen.param("showDeleted") == "true"
            filters = [f.split("=", 1) for f in seen.query.get("privateExtendedProperty", [])]
            if seen.param("singleEvents") == "true":
                events = [i for e in events for i in _instances(e, seen.param("timeMax"))]
            chosen = [
                e
                for e in events
                if (show_deleted or e.get("status") != "cancelled")
                and all(_private(e).get(k) == v for k, v in filters)
                and _in_range(e, seen.param("timeMin"), seen.param("timeMax"))
            ]
        # Google: no sync token for expanded instances or an ordered listing
        sync = not (seen.param("singleEvents") == "true" or seen.param("orderBy"))
        if "privateExtendedProperty" in seen.query and not self.filtered_sync_tokens:
            sync = False
        return {
            "calendar": calendar_id,
            "items": chosen,
            "size": size,
            "seq": now_seq,
            "sync": sync,
        }

    # people

    def _connections(self, seen: Seen) -> Reply:
        fields = seen.param("personFields")
        if not fields:
            raise _Bad(
                rpc_error(
                    400,
                    "INVALID_ARGUMENT",
                    "personFields mask is required. Please specify one or more valid paths.",
                )
            )
        try:
            size = int(seen.param("pageSize") or 100)
        except ValueError:
            size = 0
        if not 1 <= size <= 1000:
            raise _Bad(rpc_error(400, "INVALID_ARGUMENT", "pageSize must be 1..1000"))
        page_token = seen.param("pageToken")
        if page_token:
            state = self._pages.pop(page_token, None)
            if state is None:
                raise _Bad(rpc_error(400, "INVALID_ARGUMENT", "Page token is not valid."))
        else:
            state = self._new_people_listing(seen)
        items, rest = state["items"][:size], state["items"][size:]
        wanted = set(fields.split(","))
        out: dict[str, Any] = {
            "connections": [_person_view(p, wanted) for p in items],
            "totalPeople": state["total"],
            "totalItems": state["total"],
        }
        if rest:
            token = secrets.token_urlsafe(16)
            self._pages[token] = dict(state, items=rest)
            out["nextPageToken"] = token
        elif seen.param("requestSyncToken") == "true":
            token = secrets.token_urlsafe(24)
            self._people_tokens[token] = state["seq"]
            out["nextSyncToken"] = token
        return Reply(200, out)

    def _new_people_listing(self, seen: Seen) -> dict[str, Any]:
        everyone = sorted(self.people.values(), key=lambda p: p["_seq"])
        now_seq = max((p["_seq"] for p in everyone), default=0)
        sync_token = seen.param("syncToken")
        if sync_token:
            since = self._people_tokens.get(sync_token)
            if since is None:
                raise _Bad(
                    rpc_error(
                        400,
                        "FAILED_PRECONDITION",
                        "Sync token is expired. Clear local cache and retry call without the "
                        "sync token.",
                        reason="EXPIRED_SYNC_TOKEN",
                    )
                )
            chosen = [p for p in everyone if p["_seq"] > since]
            now_seq = max(now_seq, since)
        else:
            chosen = [p for p in everyone if not p.get("_deleted")]
        return {"items": chosen, "total": len(chosen), "seq": now_seq}

    # oauth

    def _token(self, body: bytes) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return Reply(400, {"error": "unsupported_grant_type"})
        if form.get("refresh_token") not in self.refresh_tokens:
            return Reply(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        granted = self.granted.get(form["refresh_token"], frozenset(PRODUCT_SCOPES))
        asked = frozenset(form.get("scope", "").split()) or granted
        if not asked <= granted:
            return Reply(400, {"error": "invalid_scope", "error_description": "Bad scope."})
        token, _ = self._issue(asked)
        return Reply(
            200,
            {
                "access_token": token,
                "expires_in": int(self.token_lifetime),
                "token_type": "Bearer",
                "scope": " ".join(sorted(asked)),
            },
        )

    def _freebusy(self, body: dict[str, Any]) -> Reply:
        """freebusy.query over this fake's calendars (busy = opaque, not cancelled)."""
        time_min, time_max = body.get("timeMin"), body.get("timeMax")
        if not time_min or not time_max:
            raise _Bad(google_error(400, "required", "Missing timeMin or timeMax"))
        out: dict[str, Any] = {}
        for item in body.get("items") or []:
            cid = str(item.get("id"))
            if cid not in self.calendars:
                out[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            busy = [
                {"start": i["start"]["dateTime"], "end": i["end"]["dateTime"]}
                for e in self.calendars[cid].values()
                for i in _instances(e, time_max)
                if e.get("status") != "cancelled"
                and e.get("transparency") != "transparent"
                and i["start"].get("dateTime")
                and _in_range(i, time_min, time_max)
            ]
            out[cid] = {"busy": busy}
        return Reply(
            200,
            {
                "kind": "calendar#freeBusy",
                "timeMin": time_min,
                "timeMax": time_max,
                "calendars": out,
            },
        )


class _Bad(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise _Bad(google_error(400, "parseError", "Parse Error")) from None
    if not isinstance(data, dict):
        raise _Bad(google_error(400, "parseError", "Parse Error"))
    return data


def _check_times(body: dict[str, Any]) -> None:
    for key in ("start", "end"):
        when = body.get(key)
        if not isinstance(when, dict) or not (when.get("dateTime") or when.get("date")):
            raise _Bad(google_error(400, "required", "Missing time"))
        value = when.get("dateTime")
        if value:
            try:
                dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise _Bad(google_error(400, "invalid", "Invalid start time.")) from None
            if dt.tzinfo is None and not when.get("timeZone"):
                raise _Bad(
                    google_error(
                        400, "timeRangeEmpty", "Missing time zone definition for start time."
                    )
                )


def _in_range(ev: dict[str, Any], time_min: str | None, time_max: str | None) -> bool:
    """Google: timeMin bounds the event's end, timeMax its start (exclusive)."""

    def when(key: str) -> datetime | None:
        value = (ev.get(key) or {}).get("dateTime")
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    start, end = when("start"), when("end")
    if time_min and end is not None and end <= datetime.fromisoformat(time_min):
        return False
    return not (time_max and start is not None and start >= datetime.fromisoformat(time_max))


def _when(value: datetime | date, with_zone: bool) -> dict[str, str]:
    """An event time as the API stores it; a recurring event also keeps its zone's name."""
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    out = {"dateTime": value.isoformat()}
    if with_zone and isinstance(value.tzinfo, ZoneInfo):
        out["timeZone"] = value.tzinfo.key
    return out


MAX_INSTANCES = 1000


def _instances(ev: dict[str, Any], time_max: str | None) -> list[dict[str, Any]]:
    """``ev`` itself, or for a recurring timed event its instances (as singleEvents=true),
    expanded in the event's time zone up to ``time_max`` (at most MAX_INSTANCES)."""
    rules = [r for r in ev.get("recurrence") or [] if r.upper().startswith("RRULE:")]
    start_value = (ev.get("start") or {}).get("dateTime")
    if not rules or not start_value or ev.get("status") == "cancelled":
        return [ev]
    zone = ZoneInfo(ev["start"]["timeZone"]) if ev["start"].get("timeZone") else None
    first = datetime.fromisoformat(start_value.replace("Z", "+00:00"))
    first = first.astimezone(zone) if zone else first
    duration = datetime.fromisoformat(ev["end"]["dateTime"].replace("Z", "+00:00")) - first
    limit = datetime.fromisoformat(time_max) if time_max else None
    # expand on the wall clock, then attach the zone: a 10:00 meeting stays at 10:00 across DST
    naive = rrulestr(rules[0][len("RRULE:") :], dtstart=first.replace(tzinfo=None))
    out: list[dict[str, Any]] = []
    for n, wall in enumerate(naive):
        when = wall.replace(tzinfo=first.tzinfo)
        if n >= MAX_INSTANCES or (limit is not None and when >= limit):
            break
        instance = {k: v for k, v in ev.items() if k != "recurrence"}
        utc = when.astimezone(UTC)
        instance["id"] = f"{ev['id']}_{utc:%Y%m%dT%H%M%SZ}"
        instance["recurringEventId"] = ev["id"]
        instance["originalStartTime"] = dict(ev["start"], dateTime=when.isoformat())
        instance["start"] = dict(ev["start"], dateTime=when.isoformat())
        instance["end"] = dict(ev["end"], dateTime=(when + duration).isoformat())
        out.append(instance)
    return out


def _public(ev: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: v for k, v in ev.items() if not k.startswith("_")}))


def _listed(ev: dict[str, Any]) -> dict[str, Any]:
    if ev.get("status") == "cancelled":  # Google guarantees only the id for deleted events
        return {"kind": "calendar#event", "etag": ev["etag"], "id": ev["id"], "status": "cancelled"}
    return _public(ev)


def _private(ev: dict[str, Any]) -> dict[str, Any]:
    return (ev.get("extendedProperties") or {}).get("private") or {}


_FIELD_OF = {
    "names": "names",
    "emailAddresses": "emailAddresses",
    "phoneNumbers": "phoneNumbers",
    "organizations": "organizations",
    "biographies": "biographies",
}


def _person_view(person: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceName": person["resourceName"], "etag": person["etag"]}
    if person.get("_deleted"):
        out["metadata"] = {"sources": person["metadata"]["sources"], "deleted": True}
        return out
    for name, key in _FIELD_OF.items():
        if name in wanted and person.get(key):
            out[key] = person[key]
    if "metadata" in wanted:
        out["metadata"] = {k: v for k, v in person["metadata"].items() if k != "deleted"}
    return json.loads(json.dumps(out))


def _web_html(text: str) -> str:
    """Plain text the way Google's web editor stores it: entities escaped, ``<br>`` for line
    breaks, ``&nbsp;`` for the second of two spaces; ``**x**`` becomes ``<b>x</b>``."""
    out = html.escape(text, quote=False).replace("  ", " &nbsp;")
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return out.replace("\r\n", "\n").replace("\n", "<br>")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogle
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else delayed ACKs cost ~40 ms a request
    wbufsize = 1 << 16  # headers and body in one write; flushed after each request

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        reply = self.fake.handle(seen, body)
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if reply.status != 204:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if reply.status != 204:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextlib.contextmanager
def running() -> Iterator[FakeGoogle]:
    fake = FakeGoogle().start()
    try:
        yield fake
    finally:
        fake.stop()


def google_fake_fixture(scope: str = "function") -> Any:
    """A pytest fixture yielding a started FakeGoogle."""

    @pytest.fixture(scope=scope)  # type: ignore[misc]
    def google() -> Iterator[FakeGoogle]:
        with running() as fake:
            yield fake

    return google
