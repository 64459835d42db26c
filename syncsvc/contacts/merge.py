"""Cards from any source into the name list: match by source id, email or phone; never delete.

A card that matches a known person updates that person (new addresses, changed org/title);
otherwise it adds one. The same card read twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from syncsvc.contacts.phones import normalize_email, normalize_phone, normalize_url
from syncsvc.events import clean_line
from syncsvc.store import people

BLOCK_SIZE = 500  # cards merged together: a few statements per block instead of per card

if TYPE_CHECKING:
    from syncsvc.contacts.vcard import Card, Skipped
    from syncsvc.store import Connection, Store


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

    def add(self, other: ImportResult) -> None:
        """Add another import's counts and skipped reports to these."""
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped

    def count(self, outcomes: Iterable[tuple[str, int]]) -> None:
        for outcome, _ in outcomes:
            setattr(self, outcome, getattr(self, outcome) + 1)

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
    block_size: int = BLOCK_SIZE,
) -> ImportResult:
    """Merge cards into the store inside one transaction; Skipped items are reported.

    Cards are merged a block at a time (docs/PERFORMANCE.md): the same result as one card at
    a time, in the same order, with a few statements per block instead of several per card."""
    from syncsvc.contacts.vcard import Skipped

    result = result or ImportResult()
    with store.tx() as conn:
        merger = Merger(conn, source=source, region=region)
        block: list[Card] = []
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
                block.append(item)
                if len(block) >= block_size:
                    result.count(merger.merge(block))
                    block = []
            if progress:
                progress()
        if block:
            result.count(merger.merge(block))
    return result


def merge_card(conn: Connection, card: Card, *, source: str, region: str | None) -> tuple[str, int]:
    """Add or update one card's person: ("added" | "updated" | "unchanged", person id)."""
    return Merger(conn, source=source, region=region).merge([card])[0]


@dataclass(slots=True)
class _Prepared:
    card: Card  # cleaned
    digest: str | None  # of the cleaned card, when it has a UID
    emails: list[tuple[str, str]] | None = None  # (as written, matching key), once needed
    phones: list[tuple[str, str]] | None = None
    urls: list[tuple[str, str]] | None = None  # kept, not matched on

    def addresses(self) -> tuple[tuple[str, list[tuple[str, str]]], ...]:
        """(kind, [(as written, key), ...]) for emails, phones, urls; once normalised."""
        assert self.emails is not None and self.phones is not None and self.urls is not None
        return (("email", self.emails), ("phone", self.phones), ("url", self.urls))

    def match(self, owners: people.Owners) -> int | None:
        """The person these addresses match (the rule: ``people.Owners.first``)."""
        assert self.emails is not None and self.phones is not None
        return owners.first((k for _, k in self.emails if k), (k for _, k in self.phones if k))


class Merger:
    """Merges blocks of cards from one source into the store, inside the caller's transaction.

    Per card the rules are: a card with a UID imported before with the same content (same
    hash) changes nothing; else the person is the one with that source id, else the first of
    the card's emails, else of its phones, that someone has (the lowest id if several do:
    ``people.Owners.first``, which ``people.match`` applies too); else a new person. A
    matched person gets the card's new addresses (and profile URLs), a changed org/title,
    and a real name in place of a stand-in.

    For a block, the source ids and addresses the block mentions are read with one query per
    kind; the block's own additions are kept in the same maps as it goes, so a card sees every
    card before it exactly as if each had been written at once. New people, their addresses
    and their source ids are written together at the end of the block (their ids are the ones
    SQLite would give: ``people.id`` is a plain rowid); a card that updates a person still
    waiting to be written makes the block write what it has first. Phone numbers are
    normalised only for cards that are not unchanged (a re-import normalises none)."""

    def __init__(self, conn: Connection, *, source: str, region: str | None) -> None:
        self.conn = conn
        self.source = source
        self.region = region
        self._sources: dict[str, tuple[int, str | None]] = {}  # uid -> (person, card hash)
        self._owners = people.Owners()  # (kind, key) -> lowest person id
        self._next_id = 0
        self._first_pending = 0  # ids from here on are not written yet
        self._people: list[tuple[object, ...]] = []
        self._addresses: list[tuple[object, ...]] = []
        self._source_rows: list[tuple[object, ...]] = []

    def merge(self, cards: Sequence[Card]) -> list[tuple[str, int]]:
        prepared = []
        for card in cards:
            card = _cleaned(card)
            prepared.append(_Prepared(card, _card_hash(card, self.region) if card.uid else None))
        self._load(prepared)
        outcomes = [self._merge_one(p) for p in prepared]
        self._flush()
        return outcomes

    def _load(self, prepared: Sequence[_Prepared]) -> None:
        """What the store knows of this block's source ids, and of the addresses of its cards
        that are not unchanged."""
        self._owners.clear()
        self._sources = people.known_source_ids(
            self.conn, self.source, (p.card.uid for p in prepared if p.card.uid)
        )
        self._load_owners([p for p in prepared if not self._unchanged(p)])
        self._next_id = self._first_pending = people.next_id(self.conn)

    def _unchanged(self, p: _Prepared) -> bool:
        known = self._sources.get(p.card.uid) if p.card.uid else None
        return known is not None and known[1] == p.digest

    def _load_owners(self, prepared: Sequence[_Prepared]) -> None:
        """Normalise these cards' addresses and read who has them (one query per kind and
        500 addresses). What this block added is kept: the lower id wins."""
        for p in prepared:
            p.emails = [(e, normalize_email(e)) for e in p.card.emails]
            p.phones = [(n, normalize_phone(n, self.region)) for n in p.card.phones]
            p.urls = [(u, normalize_url(u)) for u in p.card.urls]
        emails = (k for p in prepared for _, k in p.emails or () if k)
        self._owners.load(self.conn, "email", emails)
        phones = (k for p in prepared for _, k in p.phones or () if k)
        self._owners.load(self.conn, "phone", phones)

    def _merge_one(self, p: _Prepared) -> tuple[str, int]:
        card = p.card
        person_id: int | None = None
        if card.uid:
            known = self._sources.get(card.uid)
            if known is not None and known[1] == p.digest:
                return "unchanged", known[0]
            person_id = known[0] if known else None
        if p.emails is None:  # unchanged when the block was read, changed by a card before it
            self._load_owners([p])
        if person_id is None:
            person_id = p.match(self._owners)
        if person_id is None:
            self._add(p)
            return "added", self._next_id - 1
        if person_id >= self._first_pending:
            self._flush()  # it updates a person of this block that is not written yet
        changed = people.update_fields(self.conn, person_id, org=card.org, title=card.title)
        changed |= people.better_name(self.conn, person_id, card.name)
        for kind, pairs in p.addresses():
            for value, key in pairs:
                if people.add_address(self.conn, person_id, kind, value, key):
                    changed = True
                    self._owners.note(kind, key, person_id)
        if card.uid:  # new, or known as this person: either way it now has this hash
            changed |= people.add_source_id(self.conn, self.source, card.uid, person_id, p.digest)
            self._sources[card.uid] = (person_id, p.digest)
        return ("updated" if changed else "unchanged"), person_id

    def _add(self, p: _Prepared) -> None:
        card = p.card
        person_id = self._next_id
        self._next_id += 1
        self._people.append(
            (
                person_id,
                *people.new_row(
                    name=card.name,
                    source=self.source,
                    source_detail=_detail(card.source),
                    org=card.org,
                    title=card.title,
                    note=card.note,
                    categories=card.categories,
                ),
            )
        )
        for kind, pairs in p.addresses():
            for position, (value, key) in enumerate(pairs):
                if key:
                    self._addresses.append((person_id, kind, value, key, position))
                    self._owners.note(kind, key, person_id)
        if card.uid:
            self._source_rows.append((self.source, card.uid, person_id, p.digest))
            self._sources[card.uid] = (person_id, p.digest)

    def _flush(self) -> None:
        if self._people:
            people.insert_rows(self.conn, self._people)
        if self._addresses:
            people.insert_addresses(self.conn, self._addresses)
        if self._source_rows:
            people.insert_source_ids(self.conn, self._source_rows)
        self._people.clear()
        self._addresses.clear()
        self._source_rows.clear()
        self._first_pending = self._next_id


def _card_hash(card: Card, region: str | None) -> str:
    # card.urls are left out: a LinkedIn card's URL is its uid (hashes stay as they were)
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


def _detail(source_path: str) -> str:
    return Path(source_path).name if source_path and source_path != "google" else source_path
