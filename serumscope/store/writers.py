"""Writers for what the evaluator produces: each batch of evaluations replaces the listings' earlier
ones, with their ingredient and active rows, in one transaction (history triggers see one
``INSERT OR REPLACE`` per evaluation, as they expect)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlite_utils

from serumscope.store.database import transaction
from serumscope.store.rows import storable_values


def replace_evaluations(
    db: sqlite_utils.Database,
    listing_ids: list[str],
    evaluations: list[dict],
    ingredients: list[dict],
    actives: list[dict],
) -> None:
    """Store a batch: ``evaluations`` rows replace those of the same listing and rubric; the
    ``ingredients`` and ``actives`` rows of ``listing_ids`` are replaced whole. Every row passes the
    store boundary (no NaN or lone surrogate reaches the database or the site's JSON)."""
    marks = ",".join("?" * len(listing_ids))
    with transaction(db):
        db.execute(f"DELETE FROM ingredients WHERE listing_id IN ({marks})", listing_ids)
        db.execute(f"DELETE FROM actives WHERE listing_id IN ({marks})", listing_ids)
        _insert_rows(db, "evaluations", storable_values(evaluations), replace=True)
        _insert_rows(db, "ingredients", storable_values(ingredients), replace=True)
        _insert_rows(db, "actives", storable_values(actives))


def _column_value(value: object) -> object:
    """A value as sqlite-utils' insert_all would bind it: lists and dicts as JSON text."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    return value


def _insert_rows(
    db: sqlite_utils.Database, table: str, rows: Iterable[dict], replace: bool = False
) -> None:
    """``db[table].insert_all(rows, replace=replace)`` for rows that all have the keys of the first,
    as one prepared statement run over them all: sqlite-utils builds its statements chunk by chunk
    and looks at every value in Python, which cost more than scoring the listings."""
    rows = list(rows)
    if not rows:
        return
    columns = list(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        db[table].insert_all(rows, replace=replace)
        return
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    names = ", ".join(f"[{column}]" for column in columns)
    marks = ", ".join("?" * len(columns))
    db.conn.executemany(
        f"{verb} INTO [{table}] ({names}) VALUES ({marks})",
        ([_column_value(row[column]) for column in columns] for row in rows),
    )
