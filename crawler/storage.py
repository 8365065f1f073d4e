"""The crawler's side of the database: one shared connection per file, run rows, error rows."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler.extract.listing import utc_now
from serumscope.store.database import open_db, transaction

_connections: dict[str, sqlite_utils.Database] = {}


def shared_db(path: str | Path) -> sqlite_utils.Database:
    """One connection per database file per process: every crawler of a run writes through it."""
    key = str(Path(path).resolve())
    if key not in _connections:
        _connections[key] = open_db(path)
    return _connections[key]


def close_shared() -> None:
    """Close the shared connections once the crawl is over, each folding its write-ahead log into
    the database file (left to the interpreter's exit, that is not certain to happen)."""
    while _connections:
        _connections.popitem()[1].close()


def start_run(db: sqlite_utils.Database, shops: list[str]) -> int:
    with transaction(db):
        table = db["crawl_runs"]
        table.insert(
            {
                "started_at": utc_now(),
                "status": "running",
                "shops": json.dumps(shops),
                "listings_seen": 0,
                "errors": 0,
                "pid": os.getpid(),
            }
        )
        return int(table.last_pk)


def finish_run(
    db: sqlite_utils.Database, run_id: int, status: str, listings: int, errors: int, stats: Any
) -> None:
    """Record the run's end, once: a run already ended (failed, interrupted) is left as it is."""
    with transaction(db):
        db.execute(
            "UPDATE crawl_runs SET finished_at = ?, status = ?, listings_seen = ?, errors = ?,"
            " stats = ? WHERE id = ? AND status = 'running'",
            [
                utc_now(),
                status,
                listings,
                errors,
                json.dumps(stats, default=str, sort_keys=True),
                run_id,
            ],
        )


def error_row(
    run_id: int | None, shop: str, url: str, kind: str, message: str, status: int | None = None
) -> dict[str, Any]:
    """A ``crawl_errors`` row, with the unique ``error_key`` its store insert is checked by."""
    return {
        "run_id": run_id,
        "shop": shop,
        "url": url,
        "kind": kind,
        "status": status,
        "message": message[:1000],
        "occurred_at": utc_now(),
        "error_key": uuid.uuid4().hex,
    }


def save_errors(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> None:
    """Insert error rows; one whose ``error_key`` is stored already is left out (a distributed
    crawl's stream entry delivered twice: redis-py sends a batch again when its reply is lost)."""
    if rows:
        with transaction(db):
            db["crawl_errors"].insert_all(rows, ignore=True)


def save_shop(db: sqlite_utils.Database, shop: dict[str, Any]) -> None:
    name = shop["name"]
    existing = db["shops"].count_where("name = ?", [name])
    row = {
        "name": name,
        "platform": shop.get("platform"),
        "base_url": shop.get("base_url"),
        "config": json.dumps(shop, sort_keys=True),
    }
    with transaction(db):
        if existing:
            db["shops"].update(name, row)
        else:
            db["shops"].insert({**row, "added_at": utc_now()})
