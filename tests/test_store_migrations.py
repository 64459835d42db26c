"""The store's schema moves forward with migrations: a store written by an older syncsvc opens,
is brought up to date with its data intact, and a newer one is refused with one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from syncsvc.errors import StoreError
from syncsvc.store import Store
from syncsvc.store import people as people_db
from syncsvc.store.db import _statements
from syncsvc.store.migrations import MIGRATIONS, SCHEMA_VERSION


def old_store(path: Path, version: int) -> None:
    """A store as syncsvc left it at schema ``version``, with one person who has an email."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        for statement in _statements(script):
            conn.execute(statement)
    conn.execute(
        "INSERT INTO people(id, name, source, added_at, shuffle) "
        "VALUES (1, 'Ann Example', 'vcard', '2026-01-01T00:00:00+00:00', 7)"
    )
    conn.execute(
        "INSERT INTO addresses(person_id, kind, value, norm) "
        "VALUES (1, 'email', 'Ann@Example.org', 'ann@example.org')"
    )
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return sorted((row[0], row[1]) for row in conn.execute("SELECT type, name FROM sqlite_master"))


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_older_store_is_brought_up_to_date(tmp_path: Path, version: int) -> None:
    old_store(tmp_path / "old.db", version)
    store = Store.open(tmp_path / "old.db")
    fresh = Store.open(tmp_path / "fresh.db")
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert schema(store.conn) == schema(fresh.conn)
        ann = people_db.get(store.conn, 1)
        assert ann is not None and ann.emails == ["Ann@Example.org"]
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()
        fresh.close()


def test_a_newer_store_is_refused_in_one_line(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "new.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError) as err:
        Store.open(tmp_path / "new.db")
    assert "newer than this syncsvc understands" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_persons_addresses_are_found_by_index(tmp_path: Path) -> None:
    """Migration 4 dropped addresses(person_id): addresses_person_kind serves that lookup."""
    store = Store.open(tmp_path / "s.db")
    try:
        plan = " ".join(
            str(row[-1])
            for row in store.conn.execute(
                "EXPLAIN QUERY PLAN SELECT kind, value, norm FROM addresses WHERE person_id = ?",
                (1,),
            )
        )
        assert "USING INDEX addresses_person_kind" in plan
        names = {n for _, n in schema(store.conn)}
        assert "addresses_person" not in names
    finally:
        store.close()


def test_migration_6_rebuilds_calls_without_losing_what_refers_to_them(tmp_path: Path) -> None:
    """Migration 6 rebuilds `calls` (a new CHECK): with foreign keys on, its DROP TABLE would
    have cascaded to every referral, offer, win, event state and thank-you update."""
    path = tmp_path / "v5.db"
    old_store(path, 5)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    now = "2026-12-01T00:00:00+00:00"
    for call_id, origin in (("c1", None), ("c2", "c1")):
        conn.execute(
            "INSERT INTO calls(id, person_id, day, start_at, end_at, tz, kind, outcome, notes, "
            "origin_call, created_at, updated_at) "
            "VALUES (?, 1, ?, ?, ?, 'UTC', ?, ?, 'n', ?, ?, ?)",
            (
                call_id,
                "2026-12-01" if origin is None else "2026-12-02",
                now,
                now,
                "rotation" if origin is None else "retry",
                "done" if origin is None else "planned",
                origin,
                now,
                now,
            ),
        )
    conn.execute("INSERT INTO referrals(call_id, person_id) VALUES ('c1', 1)")
    conn.execute("INSERT INTO offers(call_id, person_id, text) VALUES ('c1', 1, 'the article')")
    conn.execute("INSERT INTO wins(call_id, text) VALUES ('c1', 'an interview')")
    conn.execute("INSERT INTO updates(win_call, person_id, call_id) VALUES ('c1', 1, 'c2')")
    conn.execute(
        "INSERT INTO calendar_events(calendar, call_id, uid, state, written) "
        "VALUES ('vdir:x', 'c1', 'c1@syncsvc', 'written', 'text')"
    )
    conn.commit()
    conn.close()
    store = Store.open(path)
    try:
        c = store.conn
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [tuple(r) for r in c.execute("SELECT id, origin_call FROM calls ORDER BY id")] == [
            ("c1", None),
            ("c2", "c1"),
        ]
        for table in ("referrals", "offers", "wins", "updates", "calendar_events"):
            assert c.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1, table
        assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        c.execute("UPDATE calls SET outcome = 'stop' WHERE id = 'c1'")  # the new CHECK allows it
        with pytest.raises(sqlite3.IntegrityError):
            c.execute("UPDATE calls SET outcome = 'maybe' WHERE id = 'c1'")
    finally:
        store.close()
