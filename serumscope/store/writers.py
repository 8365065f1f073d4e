"""Writers for what the evaluator produces: each batch of evaluations replaces the listings' earlier
ones, with their ingredient and active rows, in one transaction (history triggers see one
``INSERT OR REPLACE`` per evaluation, as they expect).

Preparing a batch (``prepare_evaluations``: the store-boundary checks and the values in column
order) is separate from writing it (``write_evaluations``), so that ``evaluate --jobs`` prepares in
its worker processes and the one writer only runs the statements."""

from __future__ import annotations

import json
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
    """One batch of evaluations with its ingredient and active rows, checked and bound."""

    listing_ids: list[str]
    evaluations: BoundRows
    ingredients: BoundRows
    actives: BoundRows


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


def prepare_evaluations(
    listing_ids: list[str], evaluations: list[dict], ingredients: list[dict], actives: list[dict]
) -> PreparedEvaluations:
    return PreparedEvaluations(
        listing_ids, bound_rows(evaluations), bound_rows(ingredients), bound_rows(actives)
    )


def write_evaluations(db: sqlite_utils.Database, batch: PreparedEvaluations) -> None:
    """Store a prepared batch: its evaluations replace those of the same listing and rubric; the
    ingredient and active rows of its listings are replaced whole."""
    marks = ",".join("?" * len(batch.listing_ids))
    with transaction(db):
        db.execute(f"DELETE FROM ingredients WHERE listing_id IN ({marks})", batch.listing_ids)
        db.execute(f"DELETE FROM actives WHERE listing_id IN ({marks})", batch.listing_ids)
        _insert_rows(db, "evaluations", batch.evaluations, replace=True)
        _insert_rows(db, "ingredients", batch.ingredients, replace=True)
        _insert_rows(db, "actives", batch.actives)


def replace_evaluations(
    db: sqlite_utils.Database,
    listing_ids: list[str],
    evaluations: list[dict],
    ingredients: list[dict],
    actives: list[dict],
) -> None:
    """Prepare and store a batch in one step (``prepare_evaluations``, then ``write_evaluations``)."""
    write_evaluations(db, prepare_evaluations(listing_ids, evaluations, ingredients, actives))


def _insert_rows(
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
