"""The SQLite store: one file in the data dir, WAL, foreign keys, forward migrations.

Every command works inside ``store.tx()`` transactions (``BEGIN IMMEDIATE``), so a crash
leaves either all of a step or none of it. A process-level lock file in the data dir
serialises syncsvc processes (the daemon and a manual command), see ``lock.py``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from syncsvc.errors import StoreError
from syncsvc.paths import ensure_private_dir
from syncsvc.store.migrations import FOREIGN_KEYS_OFF, MIGRATIONS, SCHEMA_VERSION

# What the queries (people.py, calls.py) take: code outside the store names this type instead
# of importing sqlite3 itself.
Connection = sqlite3.Connection


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self.conn = conn
        self.path = path
        self._depth = 0
        self._token_writes = 0  # rows changed by set_token: not a change to what events show

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) the store at ``path`` and bring its schema up to date."""
        ensure_private_dir(path.parent)
        try:
            if not path.exists():  # 0600 from the start; SQLite gives -wal/-shm the same mode
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        except sqlite3.Error as e:
            raise store_error(e, path) from None
        except OSError as e:
            raise StoreError(
                f"{path}: cannot create the store ({e.strerror}); check that its folder is "
                "writable and the disk is not full (nothing was changed)"
            ) from None
        return cls._prepare(conn, path)

    @classmethod
    def memory(cls) -> Store:
        return cls._prepare(sqlite3.connect(":memory:", isolation_level=None), None)

    @classmethod
    def _prepare(cls, conn: sqlite3.Connection, path: Path | None) -> Store:
        conn.row_factory = sqlite3.Row
        # `ORDER BY fold(name)`: names sort and match as a person expects (Émilie next to
        # Emma); SQLite computes the key once per row, so a sorted list still streams
        conn.create_function("fold", 1, fold, deterministic=True)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            if path is not None:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            store = cls(conn, path)
            store._migrate()
        except sqlite3.DatabaseError as e:
            conn.close()
            raise store_error(e, path) from None
        return store

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: the store has schema version {version}, newer than this syncsvc "
                f"understands ({SCHEMA_VERSION}); upgrade syncsvc"
            )
        for target in range(version, SCHEMA_VERSION):
            keys_off = target in FOREIGN_KEYS_OFF
            if keys_off:  # a no-op inside a transaction: set before it
                self.conn.execute("PRAGMA foreign_keys = OFF")
            try:
                with self.tx():
                    # executescript would COMMIT our transaction; run statement by statement
                    for statement in _statements(MIGRATIONS[target]):
                        self.conn.execute(statement)
                    if keys_off and self.conn.execute("PRAGMA foreign_key_check").fetchone():
                        raise sqlite3.IntegrityError(f"migration {target + 1} broke a reference")
                    self.conn.execute(f"PRAGMA user_version = {target + 1}")
            finally:
                if keys_off:
                    self.conn.execute("PRAGMA foreign_keys = ON")
        with self.tx():
            if self.meta("install_id") is None:
                import secrets  # only for a new store: it costs 3 ms of start-up

                self.set_meta("install_id", secrets.token_hex(4))

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as e:
            if _kind(e) is None:
                raise
            raise store_error(e, self.path) from e
        self._depth = 1
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as e:
            self._rollback()
            if isinstance(e, sqlite3.DatabaseError) and _kind(e) is not None:
                raise store_error(e, self.path) from e  # a storage problem, said plainly
            raise
        finally:
            self._depth = 0

    def _rollback(self) -> None:
        """Undo the open transaction. SQLite may have rolled it back itself (disk full, I/O
        error): a second ROLLBACK would fail with "no transaction is active" and hide the
        real error, so it is sent only while a transaction is open, and its own failure never
        replaces the error that brought us here."""
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    @contextmanager
    def savepoint(self) -> Iterator[sqlite3.Connection]:
        """Inside a transaction, a step that fails alone: an exception rolls back what the
        block did and propagates; the transaction goes on for the caller to decide."""
        assert self._depth, "a savepoint lives inside tx()"
        self.conn.execute("SAVEPOINT step")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK TO step")
            self.conn.execute("RELEASE step")
            raise
        self.conn.execute("RELEASE step")

    # ------------------------------------------------------------------ meta, tokens
    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def install_id(self) -> str:
        value = self.meta("install_id")
        assert value is not None
        return value

    def token(self, scope: str) -> str | None:
        row = self.conn.execute(
            "SELECT token FROM sync_tokens WHERE scope = ?", (scope,)
        ).fetchone()
        return row[0] if row else None

    def set_token(self, scope: str, token: str | None) -> None:
        before = self.conn.total_changes
        self.conn.execute(
            "INSERT INTO sync_tokens(scope, token) VALUES (?, ?) "
            "ON CONFLICT(scope) DO UPDATE SET token = excluded.token "
            "WHERE token IS NOT excluded.token",  # the same token again writes nothing
            (scope, token),
        )
        self._token_writes += self.conn.total_changes - before

    def change_mark(self) -> tuple[int, int]:
        """Equal marks mean nothing in the store changed in between: rows changed through
        this connection (total_changes), and commits by any other (PRAGMA data_version).
        A new sync token is not counted: Google hands one out on every listing, and no
        event's text depends on it."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        return self.conn.total_changes - self._token_writes, version

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ------------------------------------------------------------------ errors that say what to do
_FULL = {"SQLITE_FULL"}
_READONLY = {"SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"}
_DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_IO = {"SQLITE_IOERR"}


def _kind(err: sqlite3.Error) -> str | None:
    """'full', 'readonly', 'damaged', 'io', or None for anything else (a constraint, a bug)."""
    name = getattr(err, "sqlite_errorname", "") or ""
    base = name.split("_", 2)
    family = "_".join(base[:2]) if len(base) >= 2 else name  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    for kind, names in (("full", _FULL), ("readonly", _READONLY), ("damaged", _DAMAGED)):
        if name in names or family in names:
            return kind
    if family in _IO or name in _IO:
        return "io"
    text = str(err).lower()  # errors raised before sqlite_errorname is set
    if "file is not a database" in text or "malformed" in text:
        return "damaged"
    if "readonly" in text or "unable to open" in text:
        return "readonly"
    if "disk is full" in text:
        return "full"
    return None


def store_error(err: sqlite3.Error, path: Path | None) -> StoreError:
    """One line that says what happened to the store and what to do. Never advice that
    loses anything: the calendar's events belong to the calls in this file."""
    where = path or "the store"
    kind = _kind(err)
    if kind == "full":
        return StoreError(
            f"{where}: the disk is full; free some space and run again "
            "(nothing was changed, nothing was lost)"
        )
    if kind == "readonly":
        folder = path.parent if path else "its folder"
        return StoreError(
            f"{where}: cannot write the store ({err}); check that it and {folder} are writable "
            "by this user and the disk is not mounted read-only (nothing was changed)"
        )
    if kind == "damaged":
        return StoreError(
            f"{where}: the store is damaged ({err}); stop syncsvc, keep this file, and restore "
            "it from a backup (or recover it with `sqlite3 FILE .recover`); a new store adopts "
            "syncsvc's events from a local calendar folder"
        )
    if kind == "io":
        return StoreError(
            f"{where}: the disk reported an I/O error ({err}); check the disk "
            "(nothing was committed)"
        )
    return StoreError(f"{where}: not a usable syncsvc store ({err})")


def fold(text: str | None) -> str | None:
    """``text`` without case or accents (NFKD, combining marks dropped, casefolded): the key
    names are sorted and matched by."""
    if text is None:
        return None
    if text.isascii():
        return text.casefold()
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _statements(script: str) -> Iterator[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf.strip()
            buf = ""
    if buf.strip():
        yield buf.strip()


def install_id(conn: sqlite3.Connection) -> str:
    """This installation's id (part of every call id and event UID)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'install_id'").fetchone()
    assert row is not None
    return str(row[0])
