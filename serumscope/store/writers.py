"""Writers for what the evaluator produces: each batch of evaluations replaces the listings' earlier
ones, with their ingredient and active rows, in one transaction (history triggers see one
``INSERT OR REPLACE`` per evaluation, as they expect)."""

from __future__ import annotations

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
        db["evaluations"].insert_all(storable_values(evaluations), replace=True, batch_size=200)
        db["ingredients"].insert_all(storable_values(ingredients), replace=True, batch_size=500)
        db["actives"].insert_all(storable_values(actives), batch_size=500)
