"""``syncsvc export``: the whole name list with its history, to take anywhere.

- JSON (``--json``, the default; ``.json`` files): everything. ``people`` is the readable view —
  each person with their addresses, who referred them, and every call with its outcome, notes,
  referrals, offers and wins; ``topics`` the topic history; ``tables`` the raw rows of the name
  list and the history (people, addresses, source ids, topics, calls, referrals, offers, wins,
  updates; ``store/snapshot.py``), so nothing is lost: loaded into an empty store they export
  identically again (tests/test_export.py). Calendar sync state (event etags, sync tokens) is
  not exported: it belongs to one calendar.
- vCard 3.0 (``--vcard``; ``.vcf`` files): one card per person with FN, N, EMAIL, TEL, ORG,
  TITLE, NOTE (their own note), CATEGORIES and a stable UID; the history as ``X-SYNCSVC-*``
  properties (``X-SYNCSVC-CALL:2026-11-30 done: their notes``, ``X-SYNCSVC-REFERRED-BY``,
  ``X-SYNCSVC-OFFER``, ...). ``syncsvc import`` of that file gives the same people.

The file is written to a temporary file with mode 0600 (it is personal data) and renamed into
place, so a crash never leaves half an export under the name asked for. ``-`` writes to stdout;
a path that is not a regular file (``/dev/stdout``, a named pipe) is written into, never over.
The export reads one consistent snapshot of the store (a read transaction; WAL lets the daemon
go on writing meanwhile).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncsvc.errors import UsageError
from syncsvc.paths import private_output
from syncsvc.store import snapshot

FORMAT = "syncsvc-export"
VERSION = 1

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ExportResult:
    people: int = 0
    calls: int = 0


# --------------------------------------------------------------------------- reading
def _people_view(tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    people = {p["id"]: p for p in tables["people"]}
    addresses: dict[int, list[dict[str, Any]]] = {}
    for a in sorted(tables["addresses"], key=lambda a: a["position"]):
        addresses.setdefault(a["person_id"], []).append(a)
    sources: dict[int, list[dict[str, str]]] = {}
    for s in tables["source_ids"]:
        sources.setdefault(s["person_id"], []).append({"source": s["source"], "id": s["ext_id"]})
    refs: dict[str, list[dict[str, Any]]] = {}
    for r in tables["referrals"]:
        name = people[r["person_id"]]["name"] if r["person_id"] in people else None
        refs.setdefault(r["call_id"], []).append({"person_id": r["person_id"], "name": name})
    offers: dict[str, list[dict[str, Any]]] = {}
    for o in tables["offers"]:
        offers.setdefault(o["call_id"], []).append({"text": o["text"], "done_at": o["done_at"]})
    wins: dict[str, list[str]] = {}
    for w in tables["wins"]:
        wins.setdefault(w["call_id"], []).append(w["text"])
    calls: dict[int, list[dict[str, Any]]] = {}
    for c in sorted(tables["calls"], key=lambda c: (c["day"], c["start_at"])):
        calls.setdefault(c["person_id"], []).append(
            {
                "call_id": c["id"],
                "date": c["day"],
                "start": c["start_at"],
                "end": c["end_at"],
                "timezone": c["tz"],
                "kind": c["kind"],
                "outcome": c["outcome"],
                "notes": c["notes"],
                "referrals": refs.get(c["id"], []),
                "offers": offers.get(c["id"], []),
                "wins": wins.get(c["id"], []),
                "follow_up": c["follow_up"],
                "origin_call": c["origin_call"],
            }
        )
    out = []
    for p in tables["people"]:
        mine = addresses.get(p["id"], [])
        referrer = people.get(p["referred_by"]) if p["referred_by"] else None
        out.append(
            {
                "id": p["id"],
                "name": p["name"],
                "emails": [a["value"] for a in mine if a["kind"] == "email"],
                "phones": [a["value"] for a in mine if a["kind"] == "phone"],
                "urls": [a["value"] for a in mine if a["kind"] == "url"],
                "org": p["org"],
                "title": p["title"],
                "note": p["note"],
                "categories": [c for c in (p["categories"] or "").split(",") if c],
                "source": p["source"],
                "source_detail": p["source_detail"],
                "source_ids": sources.get(p["id"], []),
                "referred_by": (
                    {"id": referrer["id"], "name": referrer["name"]} if referrer else None
                ),
                "added_at": p["added_at"],
                "last_contacted": p["last_contacted"],
                "removed_at_source": p["removed_at_source"],
                "calls": calls.get(p["id"], []),
            }
        )
    return out


def snapshot_json(conn: snapshot.Connection) -> dict[str, Any]:
    """Everything, as one JSON-able document."""
    snap = snapshot.read(conn)
    tables = snap.tables
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "install_id": snap.install_id,
        "topics": [{"text": t["text"], "set_at": t["set_at"]} for t in tables["topics"]],
        "people": _people_view(tables),
        "tables": tables,
    }


# --------------------------------------------------------------------------- vCard
def _escape(value: object) -> str:
    text = _CONTROL.sub(" ", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold at 75 octets (RFC 6350 3.2), never inside a UTF-8 sequence."""
    out: list[str] = []
    current, size = "", 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out) + "\r\n"


def _n_value(name: str) -> str:
    parts = name.rsplit(" ", 1)
    family, given = (parts[1], parts[0]) if len(parts) == 2 else (name, "")
    return f"{_escape(family)};{_escape(given)};;;"


def _summary(call: dict[str, Any]) -> str:
    text = f"{call['date']} {call['kind']} {call['outcome']}"
    notes = " ".join(str(call["notes"] or "").split())
    return f"{text}: {notes}" if notes else text


def vcard_of(person: dict[str, Any], install_id: str | None) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{_escape(person['name'])}",
             f"N:{_n_value(person['name'])}"]  # fmt: skip
    uid = next((s["id"] for s in person["source_ids"] if s["source"] == "vcard"), None)
    fallback = "syncsvc-{}-{}".format(install_id or 0, person["id"])
    lines.append(f"UID:{_escape(uid or fallback)}")
    lines += [f"EMAIL;TYPE=INTERNET:{_escape(e)}" for e in person["emails"]]
    lines += [f"TEL:{_escape(t)}" for t in person["phones"]]
    lines += [f"URL:{_escape(u)}" for u in person["urls"]]
    if person["org"]:
        lines.append(f"ORG:{_escape(person['org'])}")
    if person["title"]:
        lines.append(f"TITLE:{_escape(person['title'])}")
    if person["note"]:
        lines.append(f"NOTE:{_escape(person['note'])}")
    if person["categories"]:
        lines.append("CATEGORIES:" + ",".join(_escape(c) for c in person["categories"]))
    if person["referred_by"]:
        lines.append(f"X-SYNCSVC-REFERRED-BY:{_escape(person['referred_by']['name'])}")
    lines.append(f"X-SYNCSVC-SOURCE:{_escape(person['source'])}")
    if person["last_contacted"]:
        lines.append(f"X-SYNCSVC-LAST-CONTACTED:{person['last_contacted']}")
    for call in person["calls"]:
        lines.append(f"X-SYNCSVC-CALL:{_escape(_summary(call))}")
        lines += [f"X-SYNCSVC-REFERRAL:{_escape(r['name'])}" for r in call["referrals"]]
        lines += [f"X-SYNCSVC-OFFER:{_escape(o['text'])}" for o in call["offers"]]
        lines += [f"X-SYNCSVC-WIN:{_escape(w)}" for w in call["wins"]]
        if call["follow_up"]:
            lines.append(f"X-SYNCSVC-FOLLOW-UP:{call['follow_up']}")
    lines.append("END:VCARD")
    return "".join(_fold(line) for line in lines)


# --------------------------------------------------------------------------- writing
def export(conn: snapshot.Connection, path: str, fmt: str) -> ExportResult:
    """Write the export; ``fmt`` is ``json`` or ``vcard``."""
    if fmt not in ("json", "vcard"):
        raise UsageError(f"unknown export format {fmt!r}; use --json or --vcard")
    data = snapshot_json(conn)
    result = ExportResult(people=len(data["people"]), calls=len(data["tables"]["calls"]))
    with private_output(path, "the export") as out:
        if fmt == "json":
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.write("\n")
        else:
            for person in data["people"]:
                out.write(vcard_of(person, data["install_id"]))
    return result


def guess_format(path: str) -> str:
    return "vcard" if path.lower().endswith((".vcf", ".vcard")) else "json"
