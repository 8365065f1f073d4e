"""Writers for what the evaluator produces: each batch of evaluations replaces the listings' earlier
ones, with their ingredient and active rows, in one transaction. Evaluations are updated in place
(history and site triggers see one insert or update per evaluation); ingredient rows are written
only for the listings whose rows changed.

Preparing a batch (``prepare_evaluations``: the store-boundary checks and the values in column
order) is separate from writing it (``write_evaluations``), so that ``evaluate --jobs`` prepares in
its worker processes and the one writer only runs the statements."""

from __future__ import annotations

import json
import sqlite3
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

import sqlite_utils

from serumscope.store.database import transaction
from serumscope.store.rows import plain_values_kept, storable_values


class BoundRows(NamedTuple):
    """Rows of one table ready to bind: the column names, then each row's values in that order.
    ``dicts`` holds the rows instead when they do not all have the same keys."""

    columns: tuple[str, ...]
    values: list[tuple]
    dicts: list[dict] | None = None


class PreparedEvaluations(NamedTuple):
    """One batch of evaluations with its ingredient and active rows, checked and bound, and each
    listing's ingredient rows as ``ingredient_lists`` text (empty when the rows have other columns)."""

    listing_ids: list[str]
    evaluations: BoundRows
    ingredients: BoundRows
    actives: BoundRows
    ingredient_lists: dict[str, str] = {}


def _column_value(value: object) -> object:
    """A value as sqlite-utils' insert_all would bind it: lists and dicts as JSON text."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    return value


def bound_rows(rows: list[dict]) -> BoundRows:
    """``rows`` past the store boundary (no NaN or lone surrogate reaches the database or the site's
    JSON), as values in the column order of the first row."""
    if not rows:
        return BoundRows((), [])
    first = rows[0].keys()
    if any(type(row) is not dict or row.keys() != first for row in rows):
        return BoundRows((), [], storable_values(rows))
    columns = tuple(first)
    values = [tuple([row[column] for column in columns]) for row in rows]
    # Nearly every batch holds flat values with nothing to clean: they are bound as they are.
    if plain_values_kept(list(columns)) and plain_values_kept(
        [value for row in values for value in row]
    ):
        return BoundRows(columns, values)
    return BoundRows(
        columns,
        [
            tuple([_column_value(row[column]) for column in columns])
            for row in storable_values(rows)
        ],
    )


# A listing's ingredient rows as one text, to tell whether they changed: JSON of [position, raw,
# canonical, known] in position order, as SQLite's json_group_array writes the stored ones. Texts
# that differ only in how the two encoders spell them mean a write too many, never one too few.
INGREDIENT_COLUMNS = ("listing_id", "position", "raw", "canonical", "known")
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_STORED_INGREDIENT_LISTS = """SELECT listing_id, json_group_array(json_array(position, raw, canonical, known))
    FROM (SELECT * FROM ingredients WHERE listing_id IN ({}) ORDER BY listing_id, position)
    GROUP BY listing_id"""


def ingredient_lists(rows: BoundRows) -> dict[str, str]:
    """Each listing's ingredient rows (of INGREDIENT_COLUMNS) as the text _STORED_INGREDIENT_LISTS
    reads back for them."""
    if rows.dicts is not None or (rows.values and rows.columns != INGREDIENT_COLUMNS):
        return {}
    lists: dict[str, list] = {}
    for listing_id, values in groupby(rows.values, key=itemgetter(0)):  # a listing's rows together
        lists.setdefault(listing_id, []).extend([row[1:] for row in values])
    # in the order given, the evaluator's (by position): rows in another order only cost a write
    return {listing_id: _COMPACT_JSON(values) for listing_id, values in lists.items()}


def bound_values(columns: tuple[str, ...], values: list[tuple]) -> BoundRows:
    """Rows given as values in ``columns`` order, bound as ``bound_rows`` binds them as dicts: as
    they are when no value has anything to clean (nearly always), else through ``bound_rows``."""
    if plain_values_kept(list(columns)) and plain_values_kept(
        [value for row in values for value in row]
    ):
        return BoundRows(columns, values)
    return bound_rows([dict(zip(columns, row, strict=True)) for row in values])


def prepare_evaluations(
    listing_ids: list[str],
    evaluations: list[dict],
    ingredients: list[dict] | BoundRows,
    actives: list[dict],
) -> PreparedEvaluations:
    """The batch checked and bound; ``ingredients`` may come bound already (``bound_values``)."""
    bound_ingredients = (
        ingredients if isinstance(ingredients, BoundRows) else bound_rows(ingredients)
    )
    return PreparedEvaluations(
        listing_ids,
        bound_rows(evaluations),
        bound_ingredients,
        bound_rows(actives),
        ingredient_lists(bound_ingredients),
    )


def write_evaluations(db: sqlite_utils.Database, batch: PreparedEvaluations) -> None:
    """Store a prepared batch: its evaluations replace those of the same listing and rubric; the
    ingredient and active rows of its listings are replaced whole."""
    marks = ",".join("?" * len(batch.listing_ids))
    with transaction(db):
        db.execute(f"DELETE FROM actives WHERE listing_id IN ({marks})", batch.listing_ids)
        _upsert_rows(db, "evaluations", batch.evaluations)
        _replace_ingredients(db, batch)
        insert_rows(db, "actives", batch.actives)


def replace_evaluations(
    db: sqlite_utils.Database,
    listing_ids: list[str],
    evaluations: list[dict],
    ingredients: list[dict],
    actives: list[dict],
) -> None:
    """Prepare and store a batch in one step (``prepare_evaluations``, then ``write_evaluations``)."""
    write_evaluations(db, prepare_evaluations(listing_ids, evaluations, ingredients, actives))


def insert_rows(
    db: sqlite_utils.Database, table: str, rows: BoundRows, replace: bool = False
) -> None:
    """``db[table].insert_all(rows, replace=replace)`` as one prepared statement run over them all:
    sqlite-utils builds its statements chunk by chunk and looks at every value in Python, which cost
    more than scoring the listings."""
    if rows.dicts is not None:
        db[table].insert_all(rows.dicts, replace=replace)
        return
    if not rows.values:
        return
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    names = ", ".join(f"[{column}]" for column in rows.columns)
    marks = ", ".join("?" * len(rows.columns))
    db.conn.executemany(f"{verb} INTO [{table}] ({names}) VALUES ({marks})", rows.values)


def _upsert_rows(db: sqlite_utils.Database, table: str, rows: BoundRows) -> None:
    """Rows that replace those of the same primary key, as ``INSERT OR REPLACE`` does (every other
    column takes the value given, or its default), but updated in place: the row keeps its rowid and
    its primary-key index entry, and SQLite rewrites only the pages whose bytes changed (a
    re-evaluation mostly changes ``evaluated_at``), where a replace deletes the row and writes it
    again whole. The update triggers fire instead of the insert triggers (store/history.py and
    store/site.py record the same on either)."""
    if rows.dicts is not None or not rows.values:
        insert_rows(db, table, rows, replace=True)
        return
    db.conn.executemany(_upsert_sql(db, table, rows.columns), rows.values)


def _upsert_sql(db: sqlite_utils.Database, table: str, columns: tuple[str, ...]) -> str:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of every other column of ``table``."""
    keys = db[table].pks
    others = [column for column in db[table].columns_dict if column not in keys]
    names = ", ".join(f"[{column}]" for column in columns)
    marks = ", ".join("?" * len(columns))
    updates = ", ".join(f"[{column}] = excluded.[{column}]" for column in others)
    return (
        f"INSERT INTO [{table}] ({names}) VALUES ({marks})"
        f" ON CONFLICT ({', '.join(f'[{key}]' for key in keys)}) DO UPDATE SET {updates}"
    )


def _replace_ingredients(db: sqlite_utils.Database, batch: PreparedEvaluations) -> None:
    """The ingredient rows of the batch's listings replaced whole, but for the listings whose rows
    are the stored ones already (a re-evaluation mostly leaves them as they were: nothing written)."""
    unchanged = _unchanged_ingredients(db, batch)
    listing_ids = [listing_id for listing_id in batch.listing_ids if listing_id not in unchanged]
    rows = batch.ingredients
    if unchanged and rows.values:
        rows = BoundRows(rows.columns, [row for row in rows.values if row[0] not in unchanged])
    if listing_ids:
        marks = ",".join("?" * len(listing_ids))
        db.execute(f"DELETE FROM ingredients WHERE listing_id IN ({marks})", listing_ids)
    insert_rows(db, "ingredients", rows, replace=True)


def _unchanged_ingredients(db: sqlite_utils.Database, batch: PreparedEvaluations) -> set[str]:
    """The listings of the batch whose stored ingredient rows are those it holds for them."""
    rows = batch.ingredients
    if rows.dicts is not None or (rows.values and not batch.ingredient_lists):
        return set()  # rows of other columns: no texts to compare
    marks = ",".join("?" * len(batch.listing_ids))
    try:
        stored = dict(db.execute(_STORED_INGREDIENT_LISTS.format(marks), batch.listing_ids))
    except sqlite3.Error:  # a value JSON cannot hold (a BLOB) or text that is no UTF-8: rewrite
        return set()
    return {
        listing_id
        for listing_id in batch.listing_ids
        if stored.get(listing_id, "[]") == batch.ingredient_lists.get(listing_id, "[]")
    }
