"""The serumscope database: one SQLite file, schema declared as data, applied idempotently.

Tables are grouped by the stage that writes them: the crawler writes ``shops``, ``crawl_runs``,
``listings``, ``variants`` and ``crawl_errors``; the evaluator CLI writes ``evaluations``,
``ingredients`` and ``actives``. docs/schema.md documents every column.
"""

from __future__ import annotations

import fcntl
import json
import math
import re
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlite_utils

# table -> (columns, primary key, foreign keys)
TABLES: dict[str, tuple[dict[str, type], str | tuple[str, ...], list[tuple[str, str, str]]]] = {
    "shops": (
        {"name": str, "platform": str, "base_url": str, "config": str, "added_at": str},
        "name",
        [],
    ),
    "crawl_runs": (
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "shops": str,
            "listings_seen": int,
            "errors": int,
            "stats": str,
            "pid": int,
        },
        "id",
        [],
    ),
    "listings": (
        {
            "id": str,
            "shop": str,
            "platform": str,
            "url": str,
            "canonical_id": str,
            "title": str,
            "brand": str,
            "description": str,
            "description_html": str,
            "ingredients_text": str,
            "details": str,
            "image_alts": str,
            "tags": str,
            "categories": str,
            "provenance": str,
            "is_candidate": int,
            "relevance_reason": str,
            "relevance_rule": str,
            "product_kind": str,
            "relevance_version": str,
            "fetched_at": str,
            "first_seen": str,
            "last_seen": str,
            "last_run_id": int,
            "gone_since": str,
            "input_hash": str,
        },
        "id",
        [("shop", "shops", "name")],
    ),
    "variants": (
        {
            "id": str,
            "listing_id": str,
            "position": int,
            "title": str,
            "size_text": str,
            "price": str,
            "regular_price": str,
            "currency": str,
            "available": int,
            "sku": str,
            "last_seen": str,
            "gone_since": str,
        },
        "id",
        [("listing_id", "listings", "id")],
    ),
    "crawl_errors": (
        {
            "id": int,
            "run_id": int,
            "shop": str,
            "url": str,
            "kind": str,
            "status": int,
            "message": str,
            "occurred_at": str,
        },
        "id",
        [],
    ),
    "evaluations": (
        {
            "listing_id": str,
            "rubric": str,
            "rubric_version": str,
            "score": int,
            "verdict": str,
            "vitamin_c_forms": str,
            "vitamin_c_percent": float,
            "light": str,
            "dispenser": str,
            "size_ml": float,
            "price": float,
            "currency": str,
            "price_usd": float,
            "price_converted": int,
            "price_per_30ml": float,
            "price_per_gram_vitamin_c": float,
            "breakdown": str,
            "facts": str,
            "input_hash": str,
            "evaluated_at": str,
        },
        ("listing_id", "rubric"),
        [("listing_id", "listings", "id")],
    ),
    "ingredients": (
        {"listing_id": str, "position": int, "raw": str, "canonical": str, "known": int},
        ("listing_id", "position"),
        [("listing_id", "listings", "id")],
    ),
    "actives": (
        {
            "id": int,
            "listing_id": str,
            "active": str,
            "form": str,
            "percent": float,
            "percent_min": float,
            "percent_max": float,
            "evidence_field": str,
            "evidence_text": str,
        },
        "id",
        [("listing_id", "listings", "id")],
    ),
}

# listings columns stored as JSON text; the listing dict (docs/schema.md) holds them decoded.
LISTING_JSON_COLUMNS = ("image_alts", "tags", "categories", "provenance")

# crawl_errors kinds that are the shop's choice or a typo, not a failure: pages robots.txt forbids,
# sitemap entries that are no URL of the shop, off-site links. Recorded, never counted as errors.
SOFT_ERROR_KINDS = ("robots", "junk-url", "offsite")

# The store boundary: every stage that writes rows (the crawler's store pipeline, the evaluation store)
# passes them through ``storable_row``, so no shop, custom spider or evaluator bug can put into the
# database what SQLite cannot encode (a lone UTF-16 surrogate, which JSON allows) or what JSON readers
# cannot parse (NaN, Infinity, or a number text such as "1e999" that only a float reads as infinite).
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (SQLite and UTF-8 cannot hold them)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def is_finite_number(value: object) -> bool:
    """True for an int, float, Decimal or number text whose value is a finite float: the one check of
    "a number we can store and publish" (NaN, ±Infinity and "1e999" fail it)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return False
    if isinstance(value, int | float | Decimal):
        try:
            return math.isfinite(float(value))
        except (OverflowError, ValueError):
            return False
    return False


def storable_value(value: object) -> object:
    """A value as it may be stored: text cleaned, non-finite floats as None, JSON-ready structures
    (lists, dicts) walked the same way."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not is_finite_number(value):
        return None
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable_value(v) for v in value)
    return value


def storable_json(value: object) -> str:
    """JSON text of ``value`` after ``storable_value``: never NaN or Infinity, never a lone surrogate."""
    return json.dumps(storable_value(value), ensure_ascii=False, allow_nan=False)


def storable_row(row: dict, number_columns: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """``row`` ready for the database, and the columns that held a value that could not be stored
    as it was. ``number_columns`` hold numbers as text (prices): one that is no finite number is None."""
    clean, invalid = {}, []
    for column, value in row.items():
        stored = storable_value(value)
        if column in number_columns and value is not None and not is_finite_number(value):
            stored = None
        if stored != value or (value is not None and stored is None):
            invalid.append(column)
        clean[column] = stored
    return clean, invalid


INDEXES: list[tuple[str, list[str]]] = [
    ("listings", ["shop"]),
    ("listings", ["last_seen"]),
    ("variants", ["listing_id"]),
    ("crawl_errors", ["run_id"]),
    ("actives", ["listing_id"]),
]


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


@contextmanager
def _schema_lock(db_path: Path):
    # Processes opening a new database at the same moment (a crawl, an evaluation, a site) would
    # otherwise race to create the same tables; SQLite's busy timeout does not cover DDL checks.
    with open(db_path.with_name(db_path.name + ".schema-lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create missing tables, columns and indexes; never drops or rewrites existing data."""
    for name, (columns, pk, foreign_keys) in TABLES.items():
        table = db[name]
        if not table.exists():
            table.create(columns, pk=pk, foreign_keys=foreign_keys or None, not_null=None)
        else:
            missing = {c: t for c, t in columns.items() if c not in table.columns_dict}
            for column, column_type in missing.items():
                table.add_column(column, column_type)
    for table_name, columns in INDEXES:
        db[table_name].create_index(columns, if_not_exists=True)
    from serumscope.history import ensure_history_schema

    ensure_history_schema(db)
    from serumscope.site_schema import ensure_site_schema

    ensure_site_schema(db)
