"""A loopback fake of Microsoft Graph (calendars) and of the Microsoft identity platform.

It serves HTTPS on 127.0.0.1 with a self-signed certificate (MSAL accepts only https
authorities), so the real ``msal`` and ``requests`` talk to it; tests point
``REQUESTS_CA_BUNDLE`` at ``fake.ca_file``. As strict as the real service where syncsvc
depends on it:

- identity, ``{url}/common``: OpenID discovery (``/v2.0/.well-known/openid-configuration``),
  ``oauth2/v2.0/devicecode`` (unknown client id -> 400), ``oauth2/v2.0/token`` for the
  device-code grant (``authorization_pending`` on the first poll) and ``refresh_token``
  (``invalid_grant`` once ``revoke()`` was called). Access tokens expire (``expire_tokens()``).
- Graph, ``{url}/v1.0``: a bearer token on every request (401 ``InvalidAuthenticationToken``);
  ``/me/calendars`` (list, create); events in a calendar (POST with ``transactionId``: a second
  POST with the same id returns the first event; listing with the documented
  ``singleValueExtendedProperties/Any(...)`` ``$filter`` and ``$expand``; ``$top`` paging via
  ``@odata.nextLink``); ``/me/events/{id}`` GET, PATCH (``If-Match`` -> 412), DELETE;
  ``calendarView`` (start/end required, weekly series expanded on the wall clock) and
  ``calendarView/delta`` (no ``$expand``/``$filter``; answers carry no extended properties;
  ``@removed`` for deletions; ``expire_delta_links()`` -> 410 ``syncStateNotFound``).
- Stored bodies come back as Outlook writes them: ``<html><head>…</head><body>…</body></html>``;
  times come back in UTC with 7 fractional digits; ``originalStartTimeZone`` carries the
  Windows name of the zone written ("W. Europe Standard Time").

Switches: ``fail_next(n, "429"|"503"|"401")`` (429/503 with ``Retry-After``),
``lose_next_answer()`` (the request is done, the answer lost: 504), ``requests`` / ``count()``.
``ui_*`` helpers act as the person in Outlook.
"""

from __future__ import annotations

import base64
import contextlib
import html
import itertools
import json
import re
import secrets
import ssl
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

CLIENT_ID = "00000000-0000-0000-0000-0000c0ffee00"
TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the consumers tenant id
USER_OID = "00000000-0000-0000-1234-567890abcdef"
OLSON_TO_WINDOWS = {v: k for k, v in reversed(list(WINDOWS_TO_OLSON.items()))}
OUTLOOK_HEAD = (
    '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
    '<style type="text/css" style="display:none">\r\nP {margin-top:0;margin-bottom:0;}\r\n'
    "</style>\r\n</head>\r\n<body>\r\n"
)
OUTLOOK_TAIL = "\r\n</body>\r\n</html>\r\n"
FILTER = re.compile(
    r"singleValueExtendedProperties/Any\(ep: ep/id eq '([^']+)' and ep/value eq '((?:[^']|'')*)'\)"
)
EXPAND = re.compile(r"singleValueExtendedProperties\(\$filter=(.+)\)")
EXPAND_ID = re.compile(r"id eq '([^']+)'")


@dataclass
class Seen:
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
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class _Bad(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def graph_error(status: int, code: str, message: str, **headers: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}}, dict(headers))


FAILURES = {
    "429": lambda: graph_error(
        429,
        "TooManyRequests",
        "Application is over its MailboxConcurrency limit.",
        **{"Retry-After": "3"},
    ),
    "503": lambda: graph_error(
        503, "ServiceUnavailable", "Service Unavailable", **{"Retry-After": "1"}
    ),
    "401": lambda: graph_error(
        401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
    ),
}


# ------------------------------------------------------------------------------ TLS


def _make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography comes with msal)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


_CERT: tuple[Path, Path] | None = None


def _certificate() -> tuple[Path, Path]:
    global _CERT
    if _CERT is None:
        _CERT = _make_certificate(Path(tempfile.mkdtemp(prefix="graph-fake-")))
    return _CERT


# ------------------------------------------------------------------------------ helpers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _parse_utc(text: str) -> datetime:
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _zone(name: str) -> ZoneInfo:
    if name in WINDOWS_TO_OLSON:
        return ZoneInfo(WINDOWS_TO_OLSON[name])
    return ZoneInfo(name)


def outlook_html(inner: str) -> str:
    """A body as Outlook stores it around what a client wrote."""
    return OUTLOOK_HEAD + inner + OUTLOOK_TAIL


def outlook_typed(text: str) -> str:
    """Text the person typed in Outlook: one ``<div>`` a line, an empty line ``<div><br></div>``."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "".join(
        f'<div class="elementToProof">{html.escape(line, quote=False) or "<br>"}</div>'
        for line in lines
    )


def _inner(body: str) -> str:
    m = re.search(r"<body[^>]*>\r\n(.*)\r\n</body>", body, re.S)
    return m.group(1) if m else body


class FakeGraph:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.url = ""
        self.ca_file = ""
        self.requests: list[Seen] = []
        self._failures: deque[Reply] = deque()
        self._lose_next = False
        self._seq = itertools.count(1)
        self.client_id = CLIENT_ID
        self.device_codes: dict[str, int] = {}  # device code -> polls so far
        self.refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = set()  # valid ones
        self.issued = 0
        self.calendars: dict[str, dict[str, Any]] = {}
        self.events_by_id: dict[str, dict[str, Any]] = {}
        self.tombstones: list[tuple[int, str, str]] = []  # (seq, calendar id, event id)
        self.delta_tokens: dict[str, tuple[str, int]] = {}  # token -> (calendar, seq)
        self._pages: dict[str, list[Any]] = {}
        self.default_calendar = self._new_calendar("Calendar", default=True)
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeGraph:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        cert, key = _certificate()
        self.ca_file = str(cert)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        threading.Thread(
            target=server.serve_forever, args=(0.05,), name="graph-fake", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def authority(self) -> str:
        return self.url + "/common"

    @property
    def graph_url(self) -> str:
        return self.url + "/v1.0"

    # ------------------------------------------------------------------ switches

    def fail_next(self, n: int, kind: str = "429") -> None:
        with self.lock:
            self._failures.extend(FAILURES[kind]() for _ in range(n))

    def lose_next_answer(self) -> None:
        """Carry out the next Graph request, then answer 504 as if the reply was lost."""
        with self.lock:
            self._lose_next = True

    def count(self, prefix: str = "/v1.0/", method: str | None = None) -> int:
        with self.lock:
            return sum(
                1
                for r in self.requests
                if r.path.startswith(prefix) and (method is None or r.method == method)
            )

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    def expire_tokens(self) -> None:
        """Every access token is past its lifetime (a refresh gets a new one)."""
        with self.lock:
            self.access_tokens.clear()

    def revoke(self) -> None:
        """The person revoked the app's access: refresh tokens answer invalid_grant."""
        with self.lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()

    def expire_delta_links(self) -> None:
        with self.lock:
            self.delta_tokens.clear()

    # ------------------------------------------------------------------ the person

    def calendar_id(self, name: str) -> str:
        with self.lock:
            return next(c["id"] for c in self.calendars.values() if c["name"] == name)

    def events(self, calendar: str | None = None) -> list[dict[str, Any]]:
        """Stored events (all props), in ``calendar`` (a name) or everywhere."""
        with self.lock:
            cal_id = self.calendar_id(calendar) if calendar else None
            return [
                json.loads(json.dumps(_public(e)))
                for e in self.events_by_id.values()
                if cal_id is None or e["_cal"] == cal_id
            ]

    def event(self, event_id: str) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(_public(self.events_by_id[event_id])))

    def prop(self, event: dict[str, Any], name: str) -> str | None:
        for p in event.get("singleValueExtendedProperties") or []:
            if p["id"].lower().endswith(f"name {name}".lower()):
                return str(p["value"])
        return None

    def find(self, uid: str) -> str:
        """The Graph id of syncsvc's event ``uid``."""
        with self.lock:
            return next(
                eid for eid, ev in self.events_by_id.items() if self.prop(ev, "syncsvcUid") == uid
            )

    def ui_edit(
        self, event_id: str, *, body_html: str | None = None, subject: str | None = None
    ) -> None:
        """Outlook saves the event: ``body_html`` is the new inside of ``<body>``."""
        with self.lock:
            ev = self.events_by_id[event_id]
            if body_html is not None:
                ev["body"] = {"contentType": "html", "content": outlook_html(body_html)}
            if subject is not None:
                ev["subject"] = subject
            self._touch(ev)

    def ui_write_notes(self, event_id: str, text: str) -> None:
        """The person types ``text`` below what is there, in Outlook's editor."""
        with self.lock:
            inner = _inner(self.events_by_id[event_id]["body"]["content"])
            self.ui_edit(event_id, body_html=inner + outlook_typed(text))

    def ui_move(self, event_id: str, start: datetime, end: datetime) -> None:
        with self.lock:
            ev = self.events_by_id[event_id]
            ev["start"] = {"dateTime": _utc_text(start), "timeZone": "UTC"}
            ev["end"] = {"dateTime": _utc_text(end), "timeZone": "UTC"}
            self._touch(ev)

    def ui_delete(self, event_id: str) -> None:
        with self.lock:
            self._remove(self.events_by_id[event_id])

    def ui_create(
        self,
        subject: str,
        start: datetime | date,
        end: datetime | date,
        *,
        calendar: str | None = None,
        free: bool = False,
        cancelled: bool = False,
        weekly: bool = False,
    ) -> str:
        """One of the person's own events (dates: all-day) in ``calendar`` (a name; default:
        their default calendar)."""
        with self.lock:
            cal_id = self.calendar_id(calendar) if calendar else self.default_calendar
            if isinstance(start, datetime):
                assert isinstance(end, datetime)
                zone = getattr(start.tzinfo, "key", "UTC")
                when = {
                    "start": {"dateTime": _utc_text(start), "timeZone": "UTC"},
                    "end": {"dateTime": _utc_text(end), "timeZone": "UTC"},
                    "isAllDay": False,
                }
            else:
                zone = "UTC"
                when = {
                    "start": {
                        "dateTime": f"{start.isoformat()}T00:00:00.0000000",
                        "timeZone": "UTC",
                    },
                    "end": {"dateTime": f"{end.isoformat()}T00:00:00.0000000", "timeZone": "UTC"},
                    "isAllDay": True,
                }
            ev: dict[str, Any] = {
                "subject": subject,
                "body": {"contentType": "html", "content": outlook_html("")},
                "showAs": "free" if free else "busy",
                "isCancelled": cancelled,
                "originalStartTimeZone": OLSON_TO_WINDOWS.get(zone, zone),
                "originalEndTimeZone": OLSON_TO_WINDOWS.get(zone, zone),
                "type": "seriesMaster" if weekly else "singleInstance",
                **when,
            }
            if weekly:
                ev["recurrence"] = {"pattern": {"type": "weekly", "interval": 1}}
            return self._store(cal_id, ev)["id"]

    # ------------------------------------------------------------------ internals

    def _new_calendar(self, name: str, default: bool = False) -> str:
        cal_id = "AAMk" + _b64(secrets.token_bytes(24))
        self.calendars[cal_id] = {
            "id": cal_id,
            "name": name,
            "isDefaultCalendar": default,
            "changeKey": _b64(secrets.token_bytes(9)),
        }
        return cal_id

    def _touch(self, ev: dict[str, Any]) -> None:
        ev["_seq"] = next(self._seq)
        ev["changeKey"] = _b64(secrets.token_bytes(12))
        ev["@odata.etag"] = f'W/"{ev["changeKey"]}"'
        ev["lastModifiedDateTime"] = datetime.now(UTC).isoformat()

    def _store(self, cal_id: str, ev: dict[str, Any]) -> dict[str, Any]:
        ev["id"] = "AAMkAG" + _b64(secrets.token_bytes(30))
        ev["_cal"] = cal_id
        ev["iCalUId"] = "040000008200E00074C5B7101A82E008" + secrets.token_hex(24)
        self.events_by_id[ev["id"]] = ev
        self._touch(ev)
        return ev

    def _remove(self, ev: dict[str, Any]) -> None:
        del self.events_by_id[ev["id"]]
        self.tombstones.append((next(self._seq), ev["_cal"], ev["id"]))

    def handle(self, seen: Seen, body: bytes) -> Reply:
        with self.lock:
            self.requests.append(seen)
            if seen.path.startswith("/common/"):
                return self._identity(seen, body)
            if self._failures:
                return self._failures.popleft()
            try:
                self._authorize(seen)
                reply = self._route(seen, body)
            except _Bad as e:
                return e.reply
            if self._lose_next:
                self._lose_next = False
                return graph_error(504, "GatewayTimeout", "The answer was lost")
            return reply

    def _authorize(self, seen: Seen) -> None:
        auth = seen.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            raise _Bad(FAILURES["401"]())

    # identity

    def _identity(self, seen: Seen, body: bytes) -> Reply:
        path = seen.path[len("/common") :]
        if path == "/v2.0/.well-known/openid-configuration":
            base = self.authority
            return Reply(
                200,
                {
                    "issuer": f"{self.url}/{TENANT}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "response_types_supported": ["code", "id_token"],
                },
            )
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("client_id") != self.client_id:
            return Reply(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": "AADSTS700016: Application not found in the directory.",
                },
            )
        if path == "/oauth2/v2.0/devicecode":
            scopes = set(form.get("scope", "").split())
            if "Calendars.ReadWrite" not in scopes or "offline_access" not in scopes:
                return Reply(400, {"error": "invalid_scope"})
            code = secrets.token_urlsafe(16)
            self.device_codes[code] = 0
            return Reply(
                200,
                {
                    "device_code": code,
                    "user_code": "FAKE1234",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": 900,
                    "interval": 0,
                    "message": "To sign in, use a web browser to open the page "
                    "https://microsoft.com/devicelogin and enter the code FAKE1234 to "
                    "authenticate.",
                },
            )
        if path == "/oauth2/v2.0/token":
            grant = form.get("grant_type", "")
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                code = form.get("device_code", "")
                if code not in self.device_codes:
                    return Reply(400, {"error": "expired_token"})
                self.device_codes[code] += 1
                if self.device_codes[code] < 2:
                    return Reply(400, {"error": "authorization_pending"})
                del self.device_codes[code]
                return self._tokens(form)
            if grant == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return Reply(
                        400,
                        {
                            "error": "invalid_grant",
                            "error_description": "AADSTS70000: The refresh token was revoked.",
                            "suberror": "bad_token",
                        },
                    )
                return self._tokens(form)
            return Reply(400, {"error": "unsupported_grant_type"})
        return Reply(404, {"error": "not_found"})

    def _tokens(self, form: dict[str, str]) -> Reply:
        self.issued += 1
        access = f"EwB{self.issued}-" + secrets.token_urlsafe(24)
        refresh = "M.C5" + secrets.token_urlsafe(32)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        now = int(datetime.now(UTC).timestamp())
        claims = {
            "iss": f"{self.url}/{TENANT}/v2.0",
            "aud": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "oid": USER_OID,
            "sub": "fake-subject",
            "tid": TENANT,
            "preferred_username": "jobseeker@outlook.com",
            "name": "Job Seeker",
        }
        id_token = ".".join(
            [_b64(b'{"alg":"none","typ":"JWT"}'), _b64(json.dumps(claims).encode()), ""]
        )
        client_info = _b64(json.dumps({"uid": USER_OID, "utid": TENANT}).encode())
        return Reply(
            200,
            {
                "token_type": "Bearer",
                "scope": "Calendars.ReadWrite openid profile",
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": access,
                "refresh_token": refresh,
                "id_token": id_token,
                "client_info": client_info,
            },
        )

    # graph

    def _route(self, seen: Seen, body: bytes) -> Reply:
        path, method = seen.path, seen.method
        if path == "/v1.0/me/calendars":
            if method == "GET":
                return self._page(seen, [_calendar_view(c) for c in self.calendars.values()])
            if method == "POST":
                name = _json(body).get("name")
                if not isinstance(name, str) or not name:
                    raise _Bad(graph_error(400, "ErrorInvalidParameter", "name is required"))
                if any(c["name"] == name for c in self.calendars.values()):
                    raise _Bad(
                        graph_error(
                            409,
                            "ErrorFolderExists",
                            "A folder with the specified name already exists.",
                        )
                    )
                return Reply(201, _calendar_view(self.calendars[self._new_calendar(name)]))
        m = re.fullmatch(
            r"/v1\.0/me/calendars/([^/]+)/(events|calendarView|calendarView/delta)", path
        )
        if m:
            cal_id = unquote(m[1])
            if cal_id not in self.calendars:
                raise _Bad(
                    graph_error(
                        404, "ErrorItemNotFound", "The specified object was not found in the store."
                    )
                )
            if m[2] == "events" and method == "POST":
                return self._create(cal_id, _json(body))
            if m[2] == "events" and method == "GET":
                return self._list(cal_id, seen)
            if m[2] == "calendarView" and method == "GET":
                return self._view(cal_id, seen)
            if m[2] == "calendarView/delta" and method == "GET":
                return self._delta(cal_id, seen)
        m = re.fullmatch(r"/v1\.0/me/events/([^/]+)", path)
        if m:
            eid = unquote(m[1])
            ev = self.events_by_id.get(eid)
            if ev is None:
                raise _Bad(
                    graph_error(
                        404, "ErrorItemNotFound", "The specified object was not found in the store."
                    )
                )
            if method == "GET":
                return Reply(200, _view(ev, _expanded(seen)))
            self._precondition(ev, seen)
            if method == "PATCH":
                return Reply(200, _view(self._patch(ev, _json(body)), set()))
            if method == "DELETE":
                self._remove(ev)
                return Reply(204)
        raise _Bad(graph_error(400, "BadRequest", f"Unsupported request: {method} {path}"))

    def _precondition(self, ev: dict[str, Any], seen: Seen) -> None:
        want = seen.headers.get("if-match")
        if want is not None and want != "*" and want != ev["@odata.etag"]:
            raise _Bad(
                graph_error(
                    412,
                    "ErrorIrresolvableConflict",
                    "The send or update operation could not be performed because the change "
                    "key passed in the request does not match the current change key for the "
                    "item.",
                )
            )

    def _create(self, cal_id: str, body: dict[str, Any]) -> Reply:
        tx = body.get("transactionId")
        if tx:
            for ev in self.events_by_id.values():
                if ev.get("transactionId") == tx:
                    return Reply(201, _view(ev, set()))
        ev: dict[str, Any] = {"isAllDay": False, "isCancelled": False, "showAs": "busy"}
        self._apply(ev, body)
        for key in ("start", "end"):
            if key not in ev:
                raise _Bad(graph_error(400, "ErrorInvalidRequest", f"{key} is required"))
        ev["type"] = "singleInstance"
        return Reply(201, _view(self._store(cal_id, ev), set()))

    def _patch(self, ev: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self._apply(ev, body)
        self._touch(ev)
        return ev

    def _apply(self, ev: dict[str, Any], body: dict[str, Any]) -> None:
        for key, value in body.items():
            if key in ("start", "end"):
                self._set_time(ev, key, value)
            elif key == "body":
                content = str(value.get("content", ""))
                if str(value.get("contentType", "text")).lower() == "text":
                    content = html.escape(content, quote=False).replace("\n", "<br>")
                ev["body"] = {"contentType": "html", "content": outlook_html(content)}
            elif key == "singleValueExtendedProperties":
                props = {p["id"].lower(): p for p in ev.get(key, [])}
                for p in value:
                    props[p["id"].lower()] = {"id": p["id"], "value": p["value"]}
                ev[key] = list(props.values())
            elif key in ("id", "changeKey", "@odata.etag"):
                raise _Bad(graph_error(400, "ErrorInvalidPropertySet", f"{key} is read-only"))
            else:
                ev[key] = value

    def _set_time(self, ev: dict[str, Any], key: str, value: Any) -> None:
        try:
            zone_name = str(value["timeZone"])
            zone = _zone(zone_name)
            local = datetime.fromisoformat(str(value["dateTime"]))
        except (KeyError, TypeError, ValueError):
            raise _Bad(
                graph_error(400, "TimeZoneNotSupportedException", f"Invalid {key} time zone")
            ) from None
        if local.tzinfo is None:
            local = local.replace(tzinfo=zone)
        ev[key] = {"dateTime": _utc_text(local), "timeZone": "UTC"}
        windows = OLSON_TO_WINDOWS.get(zone_name, zone_name)
        ev["originalStartTimeZone" if key == "start" else "originalEndTimeZone"] = windows

    def _page(self, seen: Seen, items: list[Any]) -> Reply:
        """One page of ``items`` ($top of them, default 10); the rest behind a nextLink that
        keeps the page size, as Graph's skip tokens do."""
        skip = seen.param("$skiptoken")
        if skip:
            if skip not in self._pages:
                raise _Bad(graph_error(400, "BadRequest", "Invalid skip token"))
            items, size = self._pages.pop(skip)
        else:
            size = int(seen.param("$top") or 10)
        out: dict[str, Any] = {"value": items[:size]}
        if items[size:]:
            token = secrets.token_urlsafe(12)
            self._pages[token] = [items[size:], size]
            out["@odata.nextLink"] = f"{self.url}{seen.path}?{urlencode({'$skiptoken': token})}"
        return Reply(200, out)

    def _list(self, cal_id: str, seen: Seen) -> Reply:
        wanted = _expanded(seen)
        items = [e for e in self._in(cal_id)]
        flt = seen.param("$filter")
        if flt:
            m = FILTER.fullmatch(flt)
            if not m:
                raise _Bad(graph_error(400, "BadRequest", "Invalid filter clause"))
            prop, value = m[1].lower(), m[2].replace("''", "'")
            items = [
                e
                for e in items
                if any(
                    p["id"].lower() == prop and p["value"] == value
                    for p in e.get("singleValueExtendedProperties", [])
                )
            ]
        return self._page(seen, [_view(e, wanted) for e in items])

    def _in(self, cal_id: str) -> list[dict[str, Any]]:
        return sorted(
            (e for e in self.events_by_id.values() if e["_cal"] == cal_id),
            key=lambda e: e["_seq"],
        )

    def _window(self, seen: Seen) -> tuple[datetime, datetime]:
        start, end = seen.param("startDateTime"), seen.param("endDateTime")
        if not start or not end:
            raise _Bad(
                graph_error(
                    400,
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string "
                    "parameters StartDateTime and EndDateTime.",
                )
            )
        return _parse_utc(start), _parse_utc(end)

    def _occurrences(self, cal_id: str, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
        out = []
        for ev in self._in(cal_id):
            for occ in _instances(ev, hi):
                s, e = _parse_utc(occ["start"]["dateTime"]), _parse_utc(occ["end"]["dateTime"])
                if e > lo and s < hi:
                    out.append(occ)
        return out

    def _view(self, cal_id: str, seen: Seen) -> Reply:
        lo, hi = self._window(seen)
        wanted = _expanded(seen)
        return self._page(seen, [_view(e, wanted) for e in self._occurrences(cal_id, lo, hi)])

    def _delta(self, cal_id: str, seen: Seen) -> Reply:
        if seen.param("$expand") or seen.param("$filter") or seen.param("$select"):
            raise _Bad(
                graph_error(400, "ErrorInvalidUrlQuery", "The query parameter is not supported.")
            )
        now = max(
            [e["_seq"] for e in self.events_by_id.values()]
            + [s for s, _, _ in self.tombstones]
            + [0]
        )
        skip = seen.param("$skiptoken")
        token = seen.param("$deltatoken")
        if skip:
            return self._delta_page(seen, skip)
        if token:
            known = self.delta_tokens.get(token)
            if known is None or known[0] != cal_id:
                raise _Bad(
                    graph_error(
                        410,
                        "syncStateNotFound",
                        "The sync state generation is not found. Please restart sync.",
                    )
                )
            since = known[1]
            items: list[Any] = [_view(e, set()) for e in self._in(cal_id) if e["_seq"] > since]
            items += [
                {
                    "@odata.type": "#microsoft.graph.event",
                    "id": eid,
                    "@removed": {"reason": "deleted"},
                }
                for seq, cal, eid in self.tombstones
                if cal == cal_id and seq > since
            ]
        else:
            lo, hi = self._window(seen)
            items = [_view(e, set()) for e in self._occurrences(cal_id, lo, hi)]
        state = secrets.token_urlsafe(12)
        self._pages[state] = [cal_id, now, items]
        return self._delta_page(seen, state)

    def _delta_page(self, seen: Seen, state_key: str) -> Reply:
        state = self._pages.pop(state_key, None)
        if state is None:
            raise _Bad(graph_error(400, "BadRequest", "Invalid skip token"))
        cal_id, now, items = state
        wanted = re.search(r"odata\.maxpagesize=(\d+)", seen.headers.get("prefer", ""))
        size = int(wanted[1]) if wanted else 10
        out: dict[str, Any] = {"value": items[:size]}
        base = f"{self.url}{seen.path}"
        if items[size:]:
            key = secrets.token_urlsafe(12)
            self._pages[key] = [cal_id, now, items[size:]]
            out["@odata.nextLink"] = f"{base}?{urlencode({'$skiptoken': key})}"
        else:
            token = secrets.token_urlsafe(24)
            self.delta_tokens[token] = (cal_id, now)
            out["@odata.deltaLink"] = f"{base}?{urlencode({'$deltatoken': token})}"
        return Reply(200, out)


def _calendar_view(cal: dict[str, Any]) -> dict[str, Any]:
    return dict(cal, canEdit=True, owner={"name": "Job Seeker"})


def _public(ev: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ev.items() if not k.startswith("_")}


def _expanded(seen: Seen) -> set[str]:
    expand = seen.param("$expand")
    if not expand:
        return set()
    m = EXPAND.fullmatch(expand)
    if not m:
        raise _Bad(graph_error(400, "BadRequest", "Invalid $expand"))
    return {i.lower() for i in EXPAND_ID.findall(m[1])}


def _view(ev: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """The event as Graph answers: extended properties only when expanded (and asked for)."""
    out = {
        k: v
        for k, v in _public(ev).items()
        if k not in ("singleValueExtendedProperties", "transactionId", "recurrence")
    }
    props = [p for p in ev.get("singleValueExtendedProperties", []) if p["id"].lower() in wanted]
    if props:
        out["singleValueExtendedProperties"] = props
    out["transactionId"] = ev.get("transactionId")
    return json.loads(json.dumps(out))


def _instances(ev: dict[str, Any], limit: datetime) -> list[dict[str, Any]]:
    """A weekly series' occurrences up to ``limit``, on the wall clock of its own zone."""
    if ev.get("type") != "seriesMaster":
        return [ev]
    zone = _zone(ev["originalStartTimeZone"])
    first = _parse_utc(ev["start"]["dateTime"]).astimezone(zone)
    length = _parse_utc(ev["end"]["dateTime"]) - _parse_utc(ev["start"]["dateTime"])
    out = []
    for n in range(1000):
        wall = first.replace(tzinfo=None) + timedelta(weeks=n)
        start = wall.replace(tzinfo=zone)
        if start >= limit:
            break
        occ = dict(ev, type="occurrence", seriesMasterId=ev["id"])
        occ["id"] = f"{ev['id']}_{n}"
        occ["start"] = {"dateTime": _utc_text(start), "timeZone": "UTC"}
        occ["end"] = {"dateTime": _utc_text(start + length), "timeZone": "UTC"}
        out.append(occ)
    return out


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise _Bad(graph_error(400, "BadRequest", "Unable to read JSON request payload.")) from None
    if not isinstance(data, dict):
        raise _Bad(graph_error(400, "BadRequest", "Unable to read JSON request payload."))
    return data


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGraph
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

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
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def running() -> Iterator[FakeGraph]:
    fake = FakeGraph().start()
    try:
        yield fake
    finally:
        fake.stop()


def graph_fake_fixture(scope: str = "function") -> Any:
    @pytest.fixture(scope=scope)  # type: ignore[misc]
    def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
        with running() as fake:
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
            yield fake

    return graph


def microsoft_section(fake: FakeGraph, **extra: Any) -> dict[str, Any]:
    """The ``[microsoft]`` config section for ``fake``."""
    return {
        "client_id": fake.client_id,
        "authority": fake.authority,
        "graph_url": fake.graph_url,
        **extra,
    }


def sign_in(config: Any, fake: FakeGraph) -> None:
    """Run ``syncsvc auth microsoft``'s device flow against the fake (it approves at once)."""
    from syncsvc.microsoft_auth import sign_in as product_sign_in

    shown: list[str] = []
    product_sign_in(config, shown.append)
    assert shown and "FAKE1234" in shown[0]


__all__ = [
    "FakeGraph",
    "graph_fake_fixture",
    "microsoft_section",
    "outlook_html",
    "outlook_typed",
    "sign_in",
]
