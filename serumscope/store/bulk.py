"""Writing many evaluations at once without the per-row triggers that keep the site's tables.

Each evaluation written fires a trigger that computes its listing's ``scores`` row again, and each
``scores`` row written fires the counting triggers (facet and verdict counts): about 450 µs a listing,
half the writer's time when every listing is evaluated. ``site_tables_rebuilt_after`` suspends those
triggers for one transaction, then computes the rows of the listings written as the triggers do
(store/site.py: ``scores_rows_refreshed_statements``, each row computed once and written only where
it differs) over all of them at once, counts again whole and restores the triggers. All of it is one
SQLite transaction: a process killed meanwhile leaves the database as it was, triggers included, and
other connections see the old rows until the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlite_utils

from serumscope.store.database import transaction
from serumscope.store.schema import refill_counts, refill_scores_rows, trigger_sql
from serumscope.store.site import (
    COUNT_TRIGGERS,
    SITE_TRIGGERS,
    computed_scores_table_sql,
    scores_rows_refreshed_statements,
)

# The triggers evaluations fire on the site's tables: scores rows, then the counts of scores rows.
SUSPENDED_TRIGGERS = [
    *(name for name in SITE_TRIGGERS if name.startswith("scores_evaluation_")),
    *COUNT_TRIGGERS,
]

_WRITTEN = "bulk_written_listings"  # a temporary table: the ids of the listings written
_COMPUTED = "bulk_scores_rows"  # a temporary table: their scores rows as computed now


@contextmanager
def site_tables_rebuilt_after(
    db: sqlite_utils.Database, whole: bool
) -> Iterator[Callable[[list[str]], None]]:
    """One transaction without the triggers of SUSPENDED_TRIGGERS: the caller writes evaluations and
    tells the function it is given the ids of their listings; then their ``scores`` rows (every row
    with ``whole``, when every listing was written) and the counted tables are computed again and
    the triggers restored, before the commit."""
    with transaction(db):
        for name in SUSPENDED_TRIGGERS:
            db.execute(f"DROP TRIGGER IF EXISTS [{name}]")
        db.execute(f"CREATE TEMP TABLE IF NOT EXISTS [{_WRITTEN}] (id TEXT PRIMARY KEY)")
        db.execute(f"DELETE FROM temp.[{_WRITTEN}]")

        def written(listing_ids: list[str]) -> None:
            if not whole:
                db.conn.executemany(
                    f"INSERT OR IGNORE INTO temp.[{_WRITTEN}] (id) VALUES (?)",
                    [(listing_id,) for listing_id in listing_ids],
                )

        yield written
        if whole:
            refill_scores_rows(db)
        else:
            db.execute(computed_scores_table_sql(f"temp.[{_COMPUTED}]"))
            for statement in scores_rows_refreshed_statements(
                f"(SELECT id FROM temp.[{_WRITTEN}])", f"temp.[{_COMPUTED}]"
            ):
                db.execute(statement)
            db.execute(f"DROP TABLE temp.[{_COMPUTED}]")
        refill_counts(db)
        for name in SUSPENDED_TRIGGERS:
            db.execute(trigger_sql(name))
        db.execute(f"DELETE FROM temp.[{_WRITTEN}]")
