"""vCard files imported before: a file whose bytes, syncsvc version and phone region are the
same as at its last import is not read again (docs/PERFORMANCE.md, target 2). Its cards are
counted as unchanged and its skipped cards reported again, as reading it would."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from syncsvc import __version__


def digest(path: Path) -> str | None:
    """SHA-256 of the file's bytes; None if it cannot be read (the import reports that)."""
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def key(region: str | None) -> str:
    """What else decides what a file imports as: the code that reads it and the region."""
    return f"syncsvc {__version__}; region {region or '-'}"


def unchanged(
    conn: sqlite3.Connection, path: Path, sha256: str | None, key: str
) -> tuple[int, list[dict[str, Any]]] | None:
    """(cards, skipped reports) of the last import of this very file, or None."""
    if sha256 is None:
        return None
    row = conn.execute(
        "SELECT cards, skipped FROM imported_files WHERE path = ? AND sha256 = ? AND key = ?",
        (str(path.resolve()), sha256, key),
    ).fetchone()
    if row is None:
        return None
    skipped = json.loads(row[1])
    for report in skipped:
        report["source"] = str(path)  # as named this time
    return row[0], skipped


def remember(
    conn: sqlite3.Connection,
    path: Path,
    sha256: str | None,
    key: str,
    cards: int,
    skipped: list[dict[str, Any]],
) -> None:
    if sha256 is None:
        return
    conn.execute(
        "INSERT OR REPLACE INTO imported_files(path, sha256, key, cards, skipped) "
        "VALUES (?, ?, ?, ?, ?)",
        (str(path.resolve()), sha256, key, cards, json.dumps(skipped, ensure_ascii=False)),
    )
