"""Cards from any source into the name list: match by source id, email or phone; never delete.

A card that matches a known person updates that person (new addresses, changed org/title);
otherwise it adds one. The same card read twice changes nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from syncsvc.contacts.phones import normalize_email, normalize_phone
from syncsvc.events import clean_line
from syncsvc.store import people

if TYPE_CHECKING:
    from syncsvc.contacts.vcard import Card, Skipped
    from syncsvc.store import Store


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }

    def summary(self) -> str:
        text = f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return text


def import_cards(
    store: Store,
    items: Iterable[Card | Skipped],
    *,
    source: str,
    region: str | None,
    result: ImportResult | None = None,
    progress: Callable[[], None] | None = None,
) -> ImportResult:
    """Merge cards into the store inside one transaction; Skipped items are reported."""
    from syncsvc.contacts.vcard import Skipped

    result = result or ImportResult()
    with store.tx() as conn:
        for item in items:
            if isinstance(item, Skipped):
                result.skipped.append(
                    {
                        "source": item.source,
                        "card": item.card,
                        "line": item.line,
                        "reason": item.reason,
                    }
                )
            else:
                outcome, _ = merge_card(conn, item, source=source, region=region)
                setattr(result, outcome, getattr(result, outcome) + 1)
            if progress:
                progress()
    return result


def merge_card(
    conn: sqlite3.Connection, card: Card, *, source: str, region: str | None
) -> tuple[str, int]:
    """Add or update one card's person: ("added" | "updated" | "unchanged", person id).

    A card with a UID that was imported before with the same content is recognised by its
    hash with one lookup and changes nothing (a re-import writes nothing)."""
    card = _cleaned(card)
    digest = _card_hash(card, region) if card.uid else None
    person_id: int | None = None
    if card.uid:
        row = conn.execute(
            "SELECT person_id, card_hash FROM source_ids WHERE source = ? AND ext_id = ?",
            (source, card.uid),
        ).fetchone()
        if row is not None and row[1] == digest:
            return "unchanged", row[0]
        person_id = row[0] if row else None
    emails = [(e, normalize_email(e)) for e in card.emails]
    phones = [(p, normalize_phone(p, region)) for p in card.phones]
    if person_id is None:
        person_id = people.match(
            conn, emails=[n for _, n in emails if n], phones=[n for _, n in phones if n]
        )
    changed = False
    new = person_id is None
    if person_id is None:
        person_id = people.add(
            conn,
            name=card.name,
            source=source,
            source_detail=_detail(card.source),
            org=card.org,
            title=card.title,
            note=card.note,
            categories=card.categories,
        )
    else:
        changed = people.update_fields(conn, person_id, org=card.org, title=card.title)
        changed |= _better_name(conn, person_id, card.name)
    if new:  # in the card's order, in one statement
        conn.executemany(
            "INSERT OR IGNORE INTO addresses(person_id, kind, value, norm, position) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (person_id, kind, value, norm, i)
                for kind, pairs in (("email", emails), ("phone", phones))
                for i, (value, norm) in enumerate(pairs)
                if norm
            ],
        )
    else:
        for kind, pairs in (("email", emails), ("phone", phones)):
            for value, norm in pairs:
                changed |= people.add_address(conn, person_id, kind, value, norm)
    if card.uid:
        changed |= people.add_source_id(conn, source, card.uid, person_id, digest)
    if new:
        return "added", person_id
    return ("updated" if changed else "unchanged"), person_id


def _card_hash(card: Card, region: str | None) -> str:
    fields = (
        card.name,
        card.emails,
        card.phones,
        card.org,
        card.title,
        card.note,
        card.categories,
        region,
    )
    return hashlib.sha1(repr(fields).encode(), usedforsecurity=False).hexdigest()


def _cleaned(card: Card) -> Card:
    """No control characters or bidi overrides in what is shown on a terminal or in an event
    title: they are replaced or dropped on the way in."""
    return replace(
        card,
        name=clean_line(card.name, limit=None) or card.name.strip() or "?",
        org=clean_line(card.org, limit=None) or None if card.org else None,
        title=clean_line(card.title, limit=None) or None if card.title else None,
        emails=[e for e in (clean_line(x, limit=None) for x in card.emails) if e],
        phones=[p for p in (clean_line(x, limit=None) for x in card.phones) if p],
    )


def _better_name(conn: sqlite3.Connection, person_id: int, name: str) -> bool:
    """Replace a stand-in name (an email or phone) by a real one from a later card."""
    row = conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
    current = row[0]
    is_stand_in = "@" in current or current.replace(" ", "").lstrip("+").isdigit()
    if is_stand_in and name and name != current and "@" not in name:
        conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))
        return True
    return False


def _detail(source_path: str) -> str:
    return Path(source_path).name if source_path and source_path != "google" else source_path
