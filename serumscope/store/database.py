"""Opening the database, and the one way to run a transaction."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from serumscope.store.schema import ensure_schema


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` in WAL mode with the schema applied."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA busy_timeout = 10000")
    with _schema_lock(path):
        db.enable_wal()
        ensure_schema(db)
    return db


def transaction(db: sqlite_utils.Database):
    """All or nothing: ``with transaction(db): ...`` (sqlite-utils' ``atomic``; nested blocks become
    savepoints)."""
    return db.atomic()


@contextmanager
def _schema_lock(db_path: Path) -> Iterator[None]:
    # Processes opening a new database at the same moment (a crawl, an evaluation, a site) would
    # otherwise race to create the same tables; SQLite's busy timeout does not cover DDL checks.
    with open(db_path.with_name(db_path.name + ".schema-lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
