"""The local store: SQLite with migrations (db.py), the data dir lock (lock.py), and the
queries each area needs (people.py, calls.py)."""

from syncsvc.store.db import Connection, Store
from syncsvc.store.lock import data_dir_lock

__all__ = ["Connection", "Store", "data_dir_lock"]
