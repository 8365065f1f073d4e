"""What the site reads: the ``scores`` and ``coverage`` views and the full-text index over listings.

Views are always current. The full-text index is an external-content FTS5 table over ``listings``
without per-row triggers (they slow bulk upserts about fourfold), so whoever writes listings in bulk
calls :func:`refresh_search_index` afterwards; ``serumscope demo`` and ``serumscope serve`` do too.
"""

from __future__ import annotations

import sqlite_utils

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

VIEWS: dict[str, str] = {
    "scores": f"""
SELECT
  l.id AS listing_id,
  l.shop,
  l.brand,
  l.title AS name,
  l.url,
  e.vitamin_c_forms,
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
  {PRICE_BAND_SQL} AS price_band,
  {SCORE_BAND_SQL} AS score_band,
  l.rowid AS listing_rowid
FROM listings AS l
LEFT JOIN evaluations AS e ON e.listing_id = l.id AND e.rubric = '{SCORED_RUBRIC}'
""",
    "coverage": f"""
SELECT
  l.shop,
  count(*) AS listings,
  sum(l.is_candidate = 1) AS candidates,
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
    WHERE ce.shop = l.shop AND ce.run_id = (SELECT max(id) FROM crawl_runs)) AS errors_last_run,
  max(l.last_seen) AS last_seen
FROM listings AS l
LEFT JOIN evaluations AS e ON e.listing_id = l.id AND e.rubric = '{SCORED_RUBRIC}'
WHERE l.gone_since IS NULL
GROUP BY l.shop
""",
}

SITE_INDEXES: list[tuple[str, list[str]]] = [
    ("evaluations", ["rubric", "score"]),
    ("evaluations", ["rubric", "price_per_30ml"]),
    ("evaluations", ["rubric", "verdict"]),
    ("crawl_errors", ["shop", "run_id"]),
]


def ensure_site_schema(db: sqlite_utils.Database) -> None:
    """Create or update the site's views, indexes and (empty) full-text table; idempotent."""
    for name, sql in VIEWS.items():
        existing = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", [name]
        ).fetchone()
        wanted = f"CREATE VIEW {name} AS {sql.strip()}"
        if existing is None or existing[0] != wanted:
            with db.conn:
                db.execute(f"DROP VIEW IF EXISTS {name}")
                db.execute(wanted)
    for table_name, columns in SITE_INDEXES:
        db[table_name].create_index(columns, if_not_exists=True)
    if not db[SEARCH_TABLE].exists():
        db["listings"].enable_fts(SEARCH_COLUMNS, fts_version="FTS5", create_triggers=False)


def refresh_search_index(db: sqlite_utils.Database) -> None:
    """Rebuild the full-text index from ``listings``; call after bulk writes (0.5 s per 100k rows)."""
    ensure_site_schema(db)
    db["listings"].rebuild_fts()
    db.execute("ANALYZE")
