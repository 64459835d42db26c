"""The raw rows of the name list and its history, read in one consistent snapshot.

``syncsvc export`` writes these rows as they are, so nothing of the list or its history is lost
on the way out. Calendar sync state (event etags, sync tokens) is left out: it belongs to one
calendar, not to the person's data.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

#: the store connection callers hand in (they need not import sqlite3 for the annotation)
Connection = sqlite3.Connection

#: the tables of the name list and its history, in an order that satisfies the foreign keys
TABLES = ("people", "addresses", "source_ids", "topics", "calls", "referrals", "offers", "wins",
          "updates")  # fmt: skip


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, list[dict[str, Any]]]  # table → its rows (column → value), by rowid
    install_id: str | None


def read(conn: sqlite3.Connection) -> Snapshot:
    """Every row of :data:`TABLES`, in one read transaction: every query sees the same state
    of the store (WAL lets the daemon go on writing meanwhile)."""
    conn.execute("BEGIN")
    try:
        tables = {t: _rows(conn, t) for t in TABLES}
        install = conn.execute("SELECT value FROM meta WHERE key = 'install_id'").fetchone()
    finally:
        conn.execute("ROLLBACK")
    return Snapshot(tables, install[0] if install else None)


def _rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone():
        return []
    cur = conn.execute(f"SELECT * FROM {table} ORDER BY rowid")  # a name from TABLES only
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur]
