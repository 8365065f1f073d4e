"""What the site reads: the ``scores`` table, the ``coverage`` view and the listings full-text index.

``scores`` is one row per listing with the headline facts of its ``post`` evaluation. It is a table
rather than a view: on 100k listings the view made every page with facets take ~2 s, the table with
covering indexes a few milliseconds. Triggers on ``listings`` and ``evaluations`` keep each row current
as the crawler and evaluator write, so it reads like a view.

The full-text index is an external-content FTS5 table over ``listings`` without per-row triggers
(they slow bulk upserts about fourfold): it is rebuilt once per crawl, by a trigger on the crawl run
recording its end. After writing listings any other way, call :func:`refresh_site_tables` (it also
rebuilds ``scores`` whole); ``serumscope demo`` and ``serumscope serve`` (at start) do.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.db import DescIndex

from serumscope.db import SOFT_ERROR_KINDS

SCORED_RUBRIC = "post"
SEARCH_TABLE = "listings_fts"
SEARCH_COLUMNS = ["title", "brand", "ingredients_text"]

# Bands are what the seed post talks about: "around $30" is fair, "$50+" is more than you need to spend.
PRICE_BAND_SQL = """CASE
    WHEN e.price_per_30ml IS NULL THEN 'unknown'
    WHEN e.price_per_30ml < 15 THEN 'under $15'
    WHEN e.price_per_30ml < 30 THEN '$15-30'
    WHEN e.price_per_30ml < 50 THEN '$30-50'
    ELSE '$50 and up'
  END"""

SCORE_BAND_SQL = """CASE
    WHEN e.score IS NULL THEN 'not scored'
    WHEN e.score >= 80 THEN '80-100'
    WHEN e.score >= 60 THEN '60-79'
    WHEN e.score >= 40 THEN '40-59'
    ELSE '0-39'
  END"""

# Pages skipped on purpose (robots.txt forbids them, junk or off-site URLs) are no errors of the shop.
SOFT_ERROR_KINDS_SQL = ", ".join(f"'{kind}'" for kind in SOFT_ERROR_KINDS)

SCORES_COLUMNS: dict[str, str] = {
    "listing_id": "TEXT PRIMARY KEY",
    "shop": "TEXT",
    "brand": "TEXT",
    "name": "TEXT",
    "url": "TEXT",
    "vitamin_c_forms": "TEXT",
    "vitamin_c_form": "TEXT",
    "vitamin_c_percent": "REAL",
    "light": "TEXT",
    "dispenser": "TEXT",
    "size_ml": "REAL",
    "price": "REAL",
    "currency": "TEXT",
    "price_per_30ml": "REAL",
    "score": "INTEGER",
    "verdict": "TEXT",
    "rubric": "TEXT",
    "last_seen": "TEXT",
    "gone_since": "TEXT",
    "price_band": "TEXT",
    "score_band": "TEXT",
}

# The rowid of each scores row is its listing's rowid, so the listings full-text index joins both.
SCORES_SELECT = f"""
SELECT
  l.rowid,
  l.id,
  l.shop,
  l.brand,
  l.title,
  l.url,
  e.vitamin_c_forms,
  json_extract(e.vitamin_c_forms, '$[0]'),
  e.vitamin_c_percent,
  e.light,
  e.dispenser,
  e.size_ml,
  e.price,
  e.currency,
  e.price_per_30ml,
  e.score,
  e.verdict,
  e.rubric,
  l.last_seen,
  l.gone_since,
  {PRICE_BAND_SQL},
  {SCORE_BAND_SQL}
FROM listings AS l
LEFT JOIN evaluations AS e ON e.listing_id = l.id AND e.rubric = '{SCORED_RUBRIC}'
"""

VIEWS: dict[str, str] = {
    "coverage": f"""
SELECT
  l.shop,
  count(*) AS listings,
  sum(l.is_candidate = 1) AS candidates,
  sum(l.relevance_rule = 'kind') AS not_candidate_kind,
  sum(l.relevance_rule = 'not featured') AS vitamin_c_not_featured,
  sum(l.relevance_rule = 'no vitamin C form') AS no_vitamin_c_form,
  sum(l.relevance_rule = 'unknown kind') AS kind_unknown,
  sum(l.relevance_rule IS NULL OR l.relevance_rule = 'error') AS not_judged,
  sum(l.is_candidate = 1 AND l.ingredients_text IS NOT NULL) AS ingredients_read,
  sum(l.is_candidate = 1 AND l.ingredients_text IS NULL) AS ingredients_unknown,
  sum(l.is_candidate = 1 AND e.vitamin_c_percent IS NOT NULL) AS vitamin_c_percent_read,
  sum(l.is_candidate = 1 AND e.vitamin_c_percent IS NULL) AS vitamin_c_percent_unknown,
  sum(l.is_candidate = 1 AND coalesce(e.light, 'unknown') != 'unknown') AS packaging_read,
  sum(l.is_candidate = 1 AND coalesce(e.light, 'unknown') = 'unknown') AS packaging_unknown,
  sum(l.is_candidate = 1 AND e.size_ml IS NOT NULL) AS size_read,
  sum(l.is_candidate = 1 AND e.size_ml IS NULL) AS size_unknown,
  sum(l.is_candidate = 1 AND e.price IS NOT NULL) AS price_read,
  sum(l.is_candidate = 1 AND e.price IS NULL) AS price_unknown,
  (SELECT count(*) FROM crawl_errors AS ce
    WHERE ce.shop = l.shop AND ce.run_id = (SELECT max(id) FROM crawl_runs)
      AND ce.kind NOT IN ({SOFT_ERROR_KINDS_SQL})) AS errors_last_run,
  max(l.last_seen) AS last_seen
FROM listings AS l
LEFT JOIN evaluations AS e ON e.listing_id = l.id AND e.rubric = '{SCORED_RUBRIC}'
WHERE l.gone_since IS NULL
GROUP BY l.shop
""",
}

# Default facets run on every scores page, filtered or not. Each facet column leads an index that
# also holds the common filter columns (verdict, price, gone_since): the facet's GROUP BY then reads
# one index in order, skipping through it for a filtered page, and never touches the table (3-5x
# faster than a single-column index in bench/serve.py, which SQLite prefers for GROUP BY and then
# looks every row up to check the filter).
# "score DESC, listing_id" because Datasette 0.65 adds the primary-key tie-breaker to ORDER BY only
# from the second page on: rows are read in index order, so the first page must already break ties
# by listing_id or `_next` paging repeats and skips rows of equal score.
FACET_COLUMNS = ["verdict", "vitamin_c_form", "light", "shop", "brand"]
FILTER_COLUMNS = ["verdict", "price_per_30ml", "gone_since"]
SCORES_INDEXES: list[list[str]] = [
    [DescIndex("score"), "listing_id"],
    [
        "verdict",
        DescIndex("score"),
        "listing_id",
        "price_band",
        *FACET_COLUMNS[1:],
        "gone_since",
        "price_per_30ml",
    ],
    ["price_per_30ml"],
    *([column, *(c for c in FILTER_COLUMNS if c != column)] for column in FACET_COLUMNS),
]
SITE_INDEXES: list[tuple[str, list[str]]] = [
    *(("scores", columns) for columns in SCORES_INDEXES),
    ("crawl_errors", ["shop", "run_id"]),
]


def _scores_insert_columns() -> str:
    return ", ".join(f"[{name}]" for name in ["rowid", *SCORES_COLUMNS])


def _scores_row_sql(listing_id: str) -> str:
    # Delete then insert: an outer upsert's conflict policy would override OR REPLACE in a trigger.
    columns = _scores_insert_columns()
    return (
        f"DELETE FROM scores WHERE listing_id = {listing_id}"
        f" OR rowid = (SELECT rowid FROM listings WHERE id = {listing_id});\n"
        f"  INSERT INTO scores ({columns}) {SCORES_SELECT} WHERE l.id = {listing_id};"
    )


TRIGGERS: dict[str, str] = {
    "scores_listing_insert": f"""AFTER INSERT ON listings BEGIN
  {_scores_row_sql("NEW.id")}
END""",
    # A re-crawl changes last_seen of every listing it sees: update in place, and only what changed.
    "scores_listing_update": """AFTER UPDATE OF shop, brand, title, url, last_seen, gone_since
ON listings WHEN OLD.id IS NEW.id AND (OLD.shop IS NOT NEW.shop OR OLD.brand IS NOT NEW.brand
  OR OLD.title IS NOT NEW.title OR OLD.url IS NOT NEW.url OR OLD.last_seen IS NOT NEW.last_seen
  OR OLD.gone_since IS NOT NEW.gone_since) BEGIN
  UPDATE scores SET shop = NEW.shop, brand = NEW.brand, name = NEW.title, url = NEW.url,
    last_seen = NEW.last_seen, gone_since = NEW.gone_since
  WHERE listing_id = NEW.id;
END""",
    "scores_listing_id_change": f"""AFTER UPDATE OF id ON listings WHEN OLD.id IS NOT NEW.id BEGIN
  DELETE FROM scores WHERE listing_id = OLD.id;
  {_scores_row_sql("NEW.id")}
END""",
    "scores_listing_delete": """AFTER DELETE ON listings BEGIN
  DELETE FROM scores WHERE listing_id = OLD.id;
END""",
    "scores_evaluation_insert": f"""AFTER INSERT ON evaluations
WHEN NEW.rubric = '{SCORED_RUBRIC}' BEGIN
  {_scores_row_sql("NEW.listing_id")}
END""",
    "scores_evaluation_update": f"""AFTER UPDATE ON evaluations
WHEN NEW.rubric = '{SCORED_RUBRIC}' OR OLD.rubric = '{SCORED_RUBRIC}' BEGIN
  {_scores_row_sql("OLD.listing_id")}
  {_scores_row_sql("NEW.listing_id")}
END""",
    # One rebuild per finished crawl keeps search current for `serumscope run` and cron without
    # per-row FTS triggers: ~0.5 s per 100k listings, once, as the crawl records its end.
    "search_index_after_crawl": f"""AFTER UPDATE OF finished_at ON crawl_runs
WHEN NEW.finished_at IS NOT NULL AND OLD.finished_at IS NULL BEGIN
  INSERT INTO [{SEARCH_TABLE}]([{SEARCH_TABLE}]) VALUES ('rebuild');
END""",
    "scores_evaluation_delete": f"""AFTER DELETE ON evaluations
WHEN OLD.rubric = '{SCORED_RUBRIC}' BEGIN
  {_scores_row_sql("OLD.listing_id")}
END""",
}


def ensure_site_schema(db: sqlite_utils.Database) -> None:
    """Create the site's table, views, indexes and (empty) full-text index if missing; idempotent."""
    existing_scores = db.execute("SELECT type FROM sqlite_master WHERE name = 'scores'").fetchone()
    if existing_scores and existing_scores[0] == "view":
        db.execute("DROP VIEW scores")
    elif existing_scores and list(db["scores"].columns_dict) != list(SCORES_COLUMNS):
        db.execute("DROP TABLE scores")  # derived rows only: recreated and refilled below
        existing_scores = None
    if not existing_scores or existing_scores[0] == "view":
        columns = ", ".join(f"[{name}] {kind}" for name, kind in SCORES_COLUMNS.items())
        with db.conn:
            db.execute(f"CREATE TABLE scores ({columns})")
            db.execute(f"INSERT INTO scores ({_scores_insert_columns()}) {SCORES_SELECT}")
    for name, sql in VIEWS.items():
        existing = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", [name]
        ).fetchone()
        wanted = f"CREATE VIEW {name} AS {sql.strip()}"
        if existing is None or existing[0] != wanted:
            with db.conn:
                db.execute(f"DROP VIEW IF EXISTS {name}")
                db.execute(wanted)
    if not db[SEARCH_TABLE].exists():
        db["listings"].enable_fts(SEARCH_COLUMNS, fts_version="FTS5", create_triggers=False)
    for name, body in TRIGGERS.items():
        wanted = f"CREATE TRIGGER {name} {body}"
        existing = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [name]
        ).fetchone()
        if existing is None or existing[0] != wanted:
            with db.conn:
                db.execute(f"DROP TRIGGER IF EXISTS {name}")
                db.execute(wanted)
    for index in db["scores"].indexes:
        if index.name.startswith("idx_scores_") and index.columns not in SCORES_INDEXES:
            db.execute(f"DROP INDEX [{index.name}]")
    for table_name, index_columns in SITE_INDEXES:
        db[table_name].create_index(index_columns, if_not_exists=True)


def refresh_site_tables(db: sqlite_utils.Database) -> None:
    """Rebuild ``scores`` and the full-text index from listings and evaluations (~2 s per 100k).

    One transaction: a site serving meanwhile sees the old rows until the new ones are complete.
    """
    ensure_site_schema(db)
    with db.conn:
        db.execute("DELETE FROM scores")
        db.execute(f"INSERT INTO scores ({_scores_insert_columns()}) {SCORES_SELECT}")
        db.execute(f"INSERT INTO [{SEARCH_TABLE}]([{SEARCH_TABLE}]) VALUES ('rebuild')")
    db.execute("ANALYZE")

