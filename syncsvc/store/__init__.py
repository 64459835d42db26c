"""The local store: SQLite with migrations (db.py), the data dir lock (lock.py), and the
queries and rules each area needs (people.py, calls.py, planning.py for the planner's facts,
notes.py for applying a call's notes). SQL belongs here, behind named functions."""

from syncsvc.store.db import Connection, Store
from syncsvc.store.lock import data_dir_lock

__all__ = ["Connection", "Store", "data_dir_lock"]
