"""The person's calendar app on each backend, for the end-to-end flow tests (tests/test_flow.py).

Why one interface: a flow (plan → the person writes in the event → sync → next plan) is the
same story on every backend; only *how the person edits* differs — rewrite the .ics file in the
vdir folder, save through an independent CalDAV client (the phone), or type in Google's web UI
(HTML descriptions) on the fake. :class:`Phone` names the few things a flow does; each backend
implements four primitives, and ``write`` (append notes, retitle, move) is shared.

Events are addressed by syncsvc's call id (the uid is ``{call_id}@syncsvc``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest

from syncsvc.calendars import microsoft as graph_cal
from syncsvc.calendars.google import CALL_KEY, event_id, parse_when
from syncsvc.sync import uid_for
from syncsvc.text import html_to_text
from tests.google_fake import FakeGoogle, _web_html
from tests.graph_fake import FakeGraph, outlook_typed
from tests.test_caldav import Phone as CaldavPhone


@dataclass(frozen=True)
class Seen:
    """One of syncsvc's events as the person's app shows it."""

    description: str  # as text (Google's HTML converted, as the web UI displays it)
    summary: str
    start: datetime
    end: datetime
    call_marker: str | None  # the call id syncsvc tagged it with (X-property / private prop)


@dataclass(frozen=True)
class Edit:
    """What the person changes; None: left as it is."""

    description: str | None = None
    html: bool = False  # the description is HTML already (as Google's web editor stores it)
    summary: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class Phone(ABC):
    """What a flow test does to the calendar, acting as the person, outside syncsvc."""

    @abstractmethod
    def call_ids(self) -> list[str]:
        """Every event now in the calendar (not deleted): syncsvc's by call id, anything
        else by its own uid, so a stray event shows up in an assertion."""

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """call id -> something that changes whenever the event is rewritten (etag, mtime)."""

    @abstractmethod
    def event(self, call_id: str) -> Seen: ...

    @abstractmethod
    def save(self, call_id: str, edit: Edit) -> None:
        """Store the person's edit of the event."""

    @abstractmethod
    def delete(self, call_id: str) -> None: ...

    def drop_marker(self, call_id: str, notes: str) -> None:
        """An app that drops syncsvc's X-property while the person appends ``notes``."""
        pytest.skip(f"{type(self).__name__}: no app can drop this backend's call marker")

    def descriptions(self) -> dict[str, str]:
        """call id -> the description of every event now in the calendar (as ``event``
        shows it); a backend with a cheaper listing than one read per event overrides it."""
        return {c: self.event(c).description for c in self.call_ids()}

    def other_app_touch(self, call_id: str, now: datetime) -> None:
        """Another app on the person's devices stores a property of its own in the event
        (an alarm acknowledged, a colour, a category) at ``now``; the text stays as it is."""
        pytest.skip(f"{type(self).__name__}: no other app touches this backend's events")

    def other_app_marks(self) -> dict[str, str | None]:
        """call id -> what ``other_app_touch`` left in the event (None: nothing), for every
        event now in the calendar: what syncsvc's rewrites must keep."""
        pytest.skip(f"{type(self).__name__}: no other app touches this backend's events")

    def has(self, call_id: str) -> bool:
        return call_id in self.call_ids()

    def write(
        self,
        call_id: str,
        notes: str = "",
        *,
        html: bool = False,
        title: str | None = None,
        start: datetime | None = None,
        replace_description: str | None = None,
    ) -> None:
        """The person types ``notes`` below the marker (``html``: the app stores the whole
        description as HTML, ``notes`` being HTML already), or retitles or moves the event."""
        seen = self.event(call_id)
        description: str | None = None
        if replace_description is not None:
            description = replace_description
        elif html:
            description = seen.description.replace("\n", "<br>") + notes
        elif notes:
            description = self._appended(seen.description, notes)
        end = start + (seen.end - seen.start) if start is not None else None
        self.save(call_id, Edit(description, html, title, start, end))

    def _appended(self, description: str, notes: str) -> str:
        return description + notes


# ------------------------------------------------------------------------------------- vdir


def _vevent(data: bytes) -> Any:
    return next(iter(icalendar.Calendar.from_ical(data).walk("VEVENT")))


def _seen_ics(vevent: Any) -> Seen:
    marker = vevent.get("X-SYNCSVC-CALL")
    return Seen(
        description=str(vevent.get("DESCRIPTION", "")),
        summary=str(vevent.get("SUMMARY", "")),
        start=vevent.decoded("DTSTART"),
        end=vevent.decoded("DTEND"),
        call_marker=str(marker) if marker is not None else None,
    )


def _edit_ics(vevent: Any, edit: Edit) -> None:
    if edit.description is not None:
        vevent["DESCRIPTION"] = edit.description
    if edit.summary is not None:
        vevent["SUMMARY"] = edit.summary
    for name, value in (("DTSTART", edit.start), ("DTEND", edit.end)):
        if value is not None:
            vevent.pop(name, None)
            vevent.add(name, value)


def _acknowledge(vevent: Any, now: datetime) -> None:
    vevent.pop("X-MOZ-LASTACK", None)
    vevent.add("X-MOZ-LASTACK", now)


def _acknowledged(vevent: Any) -> str | None:
    ack = vevent.get("X-MOZ-LASTACK")
    return None if ack is None else bytes(ack.to_ical()).decode()


class VdirPhone(Phone):
    """A calendar app on the local folder (khal, or one syncing it): rewrites the .ics."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, call_id: str) -> Path:
        return self.folder / f"{uid_for(call_id)}.ics"

    def call_ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name.removesuffix("@syncsvc.ics") for p in self.folder.glob("*.ics"))

    def versions(self) -> dict[str, str]:
        return {c: str(self.path(c).stat().st_mtime_ns) for c in self.call_ids()}

    def event(self, call_id: str) -> Seen:
        return _seen_ics(_vevent(self.path(call_id).read_bytes()))

    def save(self, call_id: str, edit: Edit) -> None:
        path = self.path(call_id)
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        _edit_ics(next(iter(cal.walk("VEVENT"))), edit)
        path.write_bytes(cal.to_ical())

    def delete(self, call_id: str) -> None:
        self.path(call_id).unlink()

    def drop_marker(self, call_id: str, notes: str) -> None:
        path = self.path(call_id)
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        vevent = next(iter(cal.walk("VEVENT")))
        del vevent["X-SYNCSVC-CALL"]
        vevent["DESCRIPTION"] = str(vevent["DESCRIPTION"]) + notes
        path.write_bytes(cal.to_ical())

    def other_app_touch(self, call_id: str, now: datetime) -> None:
        """Thunderbird acknowledging the alarm: it rewrites the file with X-MOZ-LASTACK."""
        path = self.path(call_id)
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        _acknowledge(next(iter(cal.walk("VEVENT"))), now)
        path.write_bytes(cal.to_ical())

    def other_app_marks(self) -> dict[str, str | None]:
        return {c: _acknowledged(_vevent(self.path(c).read_bytes())) for c in self.call_ids()}


# ------------------------------------------------------------------------------------ CalDAV


class RadicalePhone(Phone):
    """The person's phone: an independent caldav client on the Radicale collection."""

    def __init__(self, phone: CaldavPhone) -> None:
        self.phone = phone

    def call_ids(self) -> list[str]:
        return sorted(u.removesuffix("@syncsvc") for u in self.phone.uids())

    def versions(self) -> dict[str, str]:
        return {c: self.phone.etag(uid_for(c)) for c in self.call_ids()}

    def descriptions(self) -> dict[str, str]:
        # one calendar-query for all (a read by uid is a REPORT of its own)
        out = {}
        for obj in self.phone.cal.events():
            vevent = obj.icalendar_component
            out[str(vevent["UID"]).removesuffix("@syncsvc")] = str(vevent.get("DESCRIPTION", ""))
        return out

    def event(self, call_id: str) -> Seen:
        return _seen_ics(self.phone.event(uid_for(call_id)).icalendar_component)

    def save(self, call_id: str, edit: Edit) -> None:
        self.phone.edit(
            uid_for(call_id),
            description=edit.description,
            summary=edit.summary,
            start=edit.start,
            end=edit.end,
        )

    def delete(self, call_id: str) -> None:
        self.phone.edit(uid_for(call_id), delete=True)

    def drop_marker(self, call_id: str, notes: str) -> None:
        obj = self.phone.event(uid_for(call_id))
        cal = icalendar.Calendar.from_ical(obj.data)
        vevent = next(iter(cal.walk("VEVENT")))
        del vevent["X-SYNCSVC-CALL"]
        vevent["DESCRIPTION"] = str(vevent["DESCRIPTION"]) + notes
        obj.data = cal.to_ical().decode()
        obj.save()

    def other_app_touch(self, call_id: str, now: datetime) -> None:
        """Thunderbird on the same CalDAV calendar acknowledging the alarm: the event PUT
        back with X-MOZ-LASTACK added, everything else as the server had it."""
        obj = self.phone.event(uid_for(call_id))
        cal = icalendar.Calendar.from_ical(obj.data)
        _acknowledge(next(iter(cal.walk("VEVENT"))), now)
        obj.data = cal.to_ical().decode()
        obj.save()

    def other_app_marks(self) -> dict[str, str | None]:
        out = {}
        for obj in self.phone.cal.events():
            vevent = obj.icalendar_component
            out[str(vevent["UID"]).removesuffix("@syncsvc")] = _acknowledged(vevent)
        return out


# ------------------------------------------------------------------------------------ Google


class GooglePhone(Phone):
    """Google Calendar's web UI on the fake: descriptions are stored as HTML."""

    def __init__(self, google: FakeGoogle) -> None:
        self.google = google

    def _events(self) -> dict[str, dict[str, Any]]:
        """Events not deleted: syncsvc's by call id, others by event id."""
        out = {}
        for ev in self.google.events():
            private = (ev.get("extendedProperties") or {}).get("private") or {}
            out[str(private.get(CALL_KEY, ev["id"]))] = ev
        return out

    def call_ids(self) -> list[str]:
        return sorted(self._events())

    def versions(self) -> dict[str, str]:
        return {c: str(ev["etag"]) for c, ev in self._events().items()}

    def event(self, call_id: str) -> Seen:
        ev = self.google.event(event_id(uid_for(call_id)))
        start, end = parse_when(ev["start"]), parse_when(ev["end"])
        assert start is not None and end is not None
        private = (ev.get("extendedProperties") or {}).get("private") or {}
        return Seen(
            description=html_to_text(str(ev.get("description", ""))),
            summary=str(ev.get("summary", "")),
            start=start,
            end=end,
            call_marker=private.get(CALL_KEY),
        )

    def _appended(self, description: str, notes: str) -> str:
        # the web editor starts typed notes on a new line below the marker
        return description.rstrip("\n") + "\n" + notes

    def save(self, call_id: str, edit: Edit) -> None:
        eid = event_id(uid_for(call_id))
        description = edit.description
        if description is not None and not edit.html:
            description = _web_html(description)
        if description is not None or edit.summary is not None:
            self.google.ui_edit(eid, description=description, summary=edit.summary)
        if edit.start is not None and edit.end is not None:
            self.google.ui_move(eid, edit.start, edit.end)

    def delete(self, call_id: str) -> None:
        self.google.ui_delete(event_id(uid_for(call_id)))

    def other_app_touch(self, call_id: str, now: datetime) -> None:
        """Another client on the account (a phone's calendar app): it colours the event and
        keeps a private extended property of its own beside syncsvc's; text unchanged."""
        with self.google.lock:
            ev = self.google.calendars["primary"][event_id(uid_for(call_id))]
            ev["colorId"] = str(int(ev.get("colorId", "0")) % 11 + 1)
            props = ev.setdefault("extendedProperties", {}).setdefault("private", {})
            props["otherAppSeen"] = now.isoformat()
            self.google._touch(ev)

    def other_app_marks(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for call_id, ev in self._events().items():
            seen = ((ev.get("extendedProperties") or {}).get("private") or {}).get("otherAppSeen")
            out[call_id] = f"colour {ev['colorId']}, seen {seen}" if "colorId" in ev else seen
        return out


# ------------------------------------------------------------------------- Outlook (Graph)


class OutlookPhone(Phone):
    """Outlook on the Graph fake: the person's typing is stored as HTML, a ``<div>`` a line,
    inside the ``<html><head>…<body>`` envelope Outlook keeps around every body."""

    def __init__(self, graph: FakeGraph, calendar: str = "syncsvc") -> None:
        self.graph = graph
        self.calendar = calendar

    def _events(self) -> dict[str, dict[str, Any]]:
        if not any(c["name"] == self.calendar for c in self.graph.calendars.values()):
            return {}
        out = {}
        for ev in self.graph.events(self.calendar):
            out[self.graph.prop(ev, "syncsvcCall") or str(ev["id"])] = ev
        return out

    def call_ids(self) -> list[str]:
        return sorted(self._events())

    def versions(self) -> dict[str, str]:
        return {c: str(ev["@odata.etag"]) for c, ev in self._events().items()}

    def event(self, call_id: str) -> Seen:
        ev = self.graph.event(self.graph.find(uid_for(call_id)))
        zone = ev.get("originalStartTimeZone")
        start = graph_cal.parse_when(ev["start"], zone)
        end = graph_cal.parse_when(ev["end"], zone)
        assert start is not None and end is not None
        return Seen(
            description=graph_cal.body_text(ev),
            summary=str(ev.get("subject", "")),
            start=start,
            end=end,
            call_marker=self.graph.prop(ev, "syncsvcCall"),
        )

    def _appended(self, description: str, notes: str) -> str:
        # Outlook starts typed notes on a new line below the marker
        return description.rstrip("\n") + "\n" + notes

    def save(self, call_id: str, edit: Edit) -> None:
        eid = self.graph.find(uid_for(call_id))
        body = edit.description
        if body is not None and not edit.html:
            body = outlook_typed(body)
        if body is not None or edit.summary is not None:
            self.graph.ui_edit(eid, body_html=body, subject=edit.summary)
        if edit.start is not None and edit.end is not None:
            self.graph.ui_move(eid, edit.start, edit.end)

    def delete(self, call_id: str) -> None:
        self.graph.ui_delete(self.graph.find(uid_for(call_id)))

    def other_app_touch(self, call_id: str, now: datetime) -> None:
        """Outlook on another device files the event under a colour category; text unchanged."""
        with self.graph.lock:
            ev = self.graph.events_by_id[self.graph.find(uid_for(call_id))]
            blue = ev.get("categories") == ["Blue category"]
            ev["categories"] = ["Green category" if blue else "Blue category"]
            self.graph._touch(ev)

    def other_app_marks(self) -> dict[str, str | None]:
        return {
            c: ", ".join(ev.get("categories") or []) or None for c, ev in self._events().items()
        }
