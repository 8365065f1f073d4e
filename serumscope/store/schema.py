"""The one function that shapes the database: ``ensure_schema`` creates every table, index, view,
trigger and the full-text index declared in store/tables.py, store/history.py and store/site.py, with
sqlite-utils. Idempotent and cheap when everything is current (reads only), so every process opening
the database calls it; it adds what is missing and never drops or rewrites stored data (``scores``,
whose rows are derived, is rebuilt when its columns change).
"""

from __future__ import annotations

import sqlite_utils

from serumscope.store.history import HISTORY_TRIGGERS, HISTORY_VIEWS, NOW
from serumscope.store.indexes import INDEXES, RETIRED_INDEXES, SCORES_INDEXES
from serumscope.store.site import (
    COUNT_TRIGGERS,
    COUNTED_TABLES,
    REBUILD_SEARCH,
    SCORES,
    SITE_TRIGGERS,
    SITE_VIEWS,
    fill_scores_sql,
)
from serumscope.store.tables import (
    DERIVED_COLUMNS,
    NAME_SEARCH_COLUMNS,
    NAME_SEARCH_TABLE,
    SEARCH_COLUMNS,
    SEARCH_TABLE,
    TABLES,
)

VIEWS = {**HISTORY_VIEWS, **SITE_VIEWS}
TRIGGERS = {**HISTORY_TRIGGERS, **SITE_TRIGGERS, **COUNT_TRIGGERS}

# A database that predates history: its current prices are the baseline of every variant.
_VARIANT_HISTORY_BASELINE = f"""INSERT INTO variant_history (variant_id, listing_id, price,
        regular_price, currency, available, change, changed_at, run_id)
    SELECT v.id, v.listing_id, v.price, v.regular_price, v.currency, v.available, 'new',
           coalesce(v.last_seen, {NOW}), l.last_run_id
    FROM variants v LEFT JOIN listings l ON l.id = v.listing_id"""


def trigger_sql(name: str) -> str:
    return f"CREATE TRIGGER {name} {TRIGGERS[name]}"


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create what is missing; replace views and triggers whose definition changed."""
    tables = set(db.table_names())
    with db.atomic():
        for name, table in TABLES.items():
            if name not in tables:
                db[name].create(
                    table.columns,
                    pk=table.pk,
                    foreign_keys=list(table.foreign_keys) or None,
                    not_null=set(table.not_null) or None,
                )
            else:
                present = db[name].columns_dict
                for column, kind in table.columns.items():
                    if column not in present:
                        db[name].add_column(column, kind)
                        if (name, column) in DERIVED_COLUMNS:
                            derived = DERIVED_COLUMNS[name, column]
                            db.execute(f"UPDATE [{name}] SET [{column}] = {derived}")
        if "variant_history" not in tables:
            db.execute(_VARIANT_HISTORY_BASELINE)
        _ensure_scores(db, tables)
        for index in INDEXES:
            db[index.table].create_index(
                index.columns, index_name=index.name, unique=index.unique, if_not_exists=True
            )
        for name in RETIRED_INDEXES:
            db.execute(f"DROP INDEX IF EXISTS [{name}]")
        for index in db["scores"].indexes:
            if index.name.startswith("idx_scores_") and index.columns not in SCORES_INDEXES:
                db.execute(f"DROP INDEX [{index.name}]")
        analyze_unmeasured_indexes(db)
    # enable_fts runs a script, which commits: outside the transaction above. It fills the index.
    if not db[SEARCH_TABLE].exists():
        db["listings"].enable_fts(SEARCH_COLUMNS, fts_version="FTS5", create_triggers=False)
    if not db[NAME_SEARCH_TABLE].exists():
        # trigram: a LIKE '%phrase%' on it reads the index (SQLite checks each name it finds again)
        db["scores"].enable_fts(NAME_SEARCH_COLUMNS, fts_version="FTS5", tokenize="trigram")
    with db.atomic():
        for name, select in VIEWS.items():
            db.create_view(name, select.strip(), replace=True)
        stored = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        replaced = [name for name in TRIGGERS if stored.get(name) != trigger_sql(name)]
        for name in replaced:
            db.execute(f"DROP TRIGGER IF EXISTS [{name}]")
            db.execute(trigger_sql(name))
        if set(replaced) & set(SITE_TRIGGERS):
            # scores rows computed the old way (a band, the scored rubric) are computed again
            _refill_scores(db)
        elif set(replaced) & set(COUNT_TRIGGERS):
            refill_counts(db)


def _refill_scores(db: sqlite_utils.Database) -> None:
    """``scores`` and its facet counts computed again whole, without the counting triggers meanwhile
    (they would make SQLite delete and count row by row); the caller's transaction hides the gap."""
    for name in COUNT_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS [{name}]")
    refill_scores_rows(db)
    refill_counts(db)
    for name in COUNT_TRIGGERS:
        db.execute(trigger_sql(name))


def refill_scores_rows(db: sqlite_utils.Database) -> None:
    """Every ``scores`` row computed again (the counting triggers dropped by the caller), its indexes
    made again after the rows: a third of the time of keeping a dozen indexes row by row (100k rows:
    1.7 s of CPU instead of 5.5 s)."""
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scores'"
        " AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX [{name}]")
    db.execute("DELETE FROM scores")
    db.execute(fill_scores_sql())
    for _, sql in indexes:
        db.execute(sql)
    analyze_unmeasured_indexes(db)


def analyze_unmeasured_indexes(db: sqlite_utils.Database) -> None:
    """ANALYZE each table that holds rows and an index the query planner has no statistics for, in
    a database analyzed before: an index made (or, for ``scores``, made again, which drops its
    statistics) since the last ANALYZE. Without them SQLite read every scores row for each choice
    list of the find page instead of skipping through the index that leads with its column: 26 ms
    of CPU a page instead of 8 at 100,000 listings (bench/serve.py). ~0.1 s for 100k scores rows."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        return  # never analyzed: refresh_site_tables analyzes the whole database
    unmeasured = db.execute(
        "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'index'"
        " AND name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)"
    ).fetchall()
    for (table,) in unmeasured:
        if db.execute(f"SELECT 1 FROM [{table}] LIMIT 1").fetchone():  # an empty one gets none
            db.execute(f"ANALYZE [{table}]")


def refill_counts(db: sqlite_utils.Database) -> None:
    """The tables counted from ``scores`` (COUNTED_TABLES) filled again whole."""
    for name, (_, fill_sql) in COUNTED_TABLES.items():
        db.execute(f"DELETE FROM [{name}]")
        db.execute(fill_sql)


def _ensure_scores(db: sqlite_utils.Database, tables: set[str]) -> None:
    missing = [name for name in COUNTED_TABLES if name not in tables]
    for name in missing:
        table = COUNTED_TABLES[name][0]
        db[name].create(table.columns, pk=table.pk)
    if "scores" in db.view_names():
        db.execute("DROP VIEW scores")  # what an early version had
    elif "scores" in tables:
        if list(db["scores"].columns_dict) == list(SCORES.columns):
            for name in missing:  # a database from before this count: counted once here
                db.execute(COUNTED_TABLES[name][1])
            return
        db["scores"].drop()  # derived rows only: recreated and refilled below
    db["scores"].create(SCORES.columns, pk=SCORES.pk)
    _refill_scores(db)


def refresh_site_tables(db: sqlite_utils.Database) -> None:
    """Rebuild ``scores`` and the full-text indexes from listings and evaluations (~8 s of CPU per
    100k real-length listings in bench/serve.py's database, 0.6 s of it the names' trigram index).

    One transaction: a site serving meanwhile sees the old rows until the new ones are complete.
    """
    ensure_schema(db)
    with db.atomic():
        _refill_scores(db)
        for statement in REBUILD_SEARCH:
            db.execute(statement)
    db.execute("ANALYZE")
