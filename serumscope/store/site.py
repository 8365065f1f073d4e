"""What the site reads, kept current by SQLite: the ``scores`` table, the ``coverage`` view and the
full-text indexes (listings; a trigram index of scores names).

``scores`` (SCORES_COLUMNS below) is one row per listing with the headline facts of its scored evaluation.
Triggers on ``listings`` and ``evaluations`` keep each row current as the crawler and evaluator write,
so it reads like a view.

The full-text indexes are external-content FTS5 tables (over ``listings``, and a trigram one over
``scores.name``) without per-row triggers (they slow bulk upserts about fourfold): they are rebuilt
once per crawl, by a trigger on the crawl run recording its end. After writing listings any other
way, call :func:`serumscope.store.refresh_site_tables` (it also rebuilds ``scores`` whole);
``serumscope demo`` and ``serumscope serve`` (at start) do.
"""

from __future__ import annotations

from evaluator.categories import OTHER
from evaluator.headline import HEADLINE_FACTS
from evaluator.rubrics import price_bands, scored_rubric, scored_rubrics
from serumscope.store.home_kit import home_kits_view
from serumscope.store.indexes import FACET_COLUMNS
from serumscope.store.tables import SEARCH_TABLES, SOFT_ERROR_KINDS, Table

SCORED_RUBRIC = scored_rubric()  # of vitamin C serums, the first category


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


SCORED_RUBRICS = scored_rubrics()  # {category: its scored rubric}
SCORED_RUBRICS_SQL = ", ".join(_sql_text(rubric) for rubric in SCORED_RUBRICS.values())
# The evaluation a listing's scores row shows: its category's scored rubric (a listing of no category:
# the first category's, which scores it "not-scored" with the reason).
SCORED_RUBRIC_OF_LISTING_SQL = (
    "CASE l.category"
    + "".join(
        f" WHEN {_sql_text(category)} THEN {_sql_text(rubric)}"
        for category, rubric in SCORED_RUBRICS.items()
    )
    + f" ELSE {_sql_text(SCORED_RUBRIC)} END"
)


def _price_band_sql(rubric: str) -> str:
    """The scored rubric's own price bands ("around $30", "pricier than needed", ...), so the site's
    facet and the price criterion never disagree; the last band is everything above."""
    bands = price_bands(rubric)
    if not bands:
        return "'unknown'"
    whens = "".join(
        f"\n    WHEN e.price_per_30ml <= {up_to!r} THEN {_sql_text(label)}"
        for up_to, label in bands[:-1]
    )
    return (
        f"CASE\n    WHEN e.price_per_30ml IS NULL THEN 'unknown'{whens}"
        f"\n    ELSE {_sql_text(bands[-1][1])}\n  END"
    )


PRICE_BAND_SQL = _price_band_sql(SCORED_RUBRIC)

SCORE_BAND_SQL = """CASE
    WHEN e.score IS NULL THEN 'not scored'
    WHEN e.score >= 80 THEN '80-100'
    WHEN e.score >= 60 THEN '60-79'
    WHEN e.score >= 40 THEN '40-59'
    ELSE '0-39'
  END"""

# Pages skipped on purpose (robots.txt forbids them, junk or off-site URLs) are no errors of the shop.
SOFT_ERROR_KINDS_SQL = ", ".join(f"'{kind}'" for kind in SOFT_ERROR_KINDS)

RED_FLAG_LABELS_SQL = """CASE WHEN e.red_flags IS NOT NULL THEN
    (SELECT json_group_array(json_extract(f.value, '$.label')) FROM json_each(e.red_flags) AS f)
  END"""

# The scores table, one row per listing: each column with the SQL that reads it from the listing (l)
# and its evaluation under the scored rubric (e). The headline facts come from their one
# declaration (evaluator/headline.py).
SCORES_COLUMNS: dict[str, tuple[type, str]] = {
    "listing_id": (str, "l.id"),
    "shop": (str, "l.shop"),
    "brand": (str, "l.brand"),
    "name": (str, "l.title"),
    "url": (str, "l.url"),
    "category": (str, f"coalesce(l.category, '{OTHER}')"),
    **{fact.column: (fact.type, f"e.{fact.column}") for fact in HEADLINE_FACTS if fact.on_scores},
    "vitamin_c_form": (str, "json_extract(e.vitamin_c_forms, '$[0]')"),
    "score": (int, "e.score"),
    "verdict": (str, "e.verdict"),
    "verdict_reason": (str, "e.verdict_reason"),
    "red_flags": (str, RED_FLAG_LABELS_SQL),
    "rubric": (str, "e.rubric"),
    "last_seen": (str, "l.last_seen"),
    "gone_since": (str, "l.gone_since"),
    "price_band": (str, PRICE_BAND_SQL),
    "score_band": (str, SCORE_BAND_SQL),
    # the percent_contradicts_inci_order query reads its listings in order from an index on this
    "order_contradicted": (int, "e.order_contradictions IS NOT NULL"),
    "product_id": (int, "l.product_id"),  # store/products.py: the home page shows a product once
}
# A table, not a view: a view with five facets took ~2 s a page at 100k listings.
SCORES = Table({name: kind for name, (kind, _) in SCORES_COLUMNS.items()}, "listing_id")

# How many scores rows hold each value of each default facet column (NULLs not counted), kept by the
# triggers below: the unfiltered scores page reads its facets here instead of grouping 100k rows five
# times a request (datasette/plugins/serumscope_facets.py).
FACET_COUNTS_TABLE = "scores_facet_counts"
FACET_COUNTS = Table({"facet": str, "value": str, "count": int}, ("facet", "value"))

# How many listings not gone each shop, and each category, has of each verdict, kept by the triggers
# below: the dashboard's verdicts-per-shop chart and the home page's verdict counts read them instead
# of grouping 100k scores rows a request.
SHOP_VERDICTS_TABLE = "scores_shop_verdicts"
SHOP_VERDICTS = Table({"shop": str, "verdict": str, "listings": int}, ("shop", "verdict"))
CATEGORY_VERDICTS_TABLE = "scores_category_verdicts"
CATEGORY_VERDICTS = Table(
    {"category": str, "verdict": str, "listings": int}, ("category", "verdict")
)
# Each verdict count: its table and the scores column it counts by (every listing has a shop, its id
# starts with it, and a category, "other" at least).
VERDICT_COUNTS = {SHOP_VERDICTS_TABLE: "shop", CATEGORY_VERDICTS_TABLE: "category"}


def _verdict_counted(key: str) -> list[str]:
    """The terms a scores row meets to be counted in a verdict count by ``key``."""
    return ["verdict IS NOT NULL", "gone_since IS NULL", f"{key} IS NOT NULL"]


# The rowid of each scores row is its listing's rowid, so the listings full-text index joins both.
_SCORES_EXPRESSIONS = ",\n  ".join(["l.rowid", *(sql for _, sql in SCORES_COLUMNS.values())])
SCORES_SELECT = f"""
SELECT
  {_SCORES_EXPRESSIONS}
FROM listings AS l
LEFT JOIN evaluations AS e ON e.listing_id = l.id AND e.rubric = {SCORED_RUBRIC_OF_LISTING_SQL}
"""

SITE_VIEWS: dict[str, str] = {
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
  sum(json_extract(l.provenance, '$.size') IN ('api', 'json-ld', 'microdata', 'opengraph'))
    AS size_from_data,
  sum(json_extract(l.provenance, '$.size') IN ('html-label', 'html-specs', 'html-option'))
    AS size_from_page_labels,
  sum(json_extract(l.provenance, '$.size') = 'description') AS size_from_description,
  sum(json_extract(l.provenance, '$.size') = 'title') AS size_from_title,
  sum(json_extract(l.provenance, '$.size') IS NULL) AS size_not_read,
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
    "home_kits": home_kits_view(),
}


def scores_insert_columns() -> str:
    return ", ".join(f"[{name}]" for name in ["rowid", *SCORES.columns])


def scores_row_statements(listing_id: str) -> list[str]:
    """The statements a trigger runs to compute again the scores row of the listing whose id is
    ``listing_id`` ("NEW.id"), written only where it differs: a stored row that differs from the
    computed one (or sits at another listing's rowid) is deleted, then a missing one inserted. A row
    unchanged (most of a re-evaluation) costs a comparison instead of a delete and an insert in a
    dozen indexes and the counting triggers."""
    # Delete then insert: an outer upsert's conflict policy would override OR REPLACE in a trigger.
    # A value the comparison tells apart that the table would store alike (an integer in a TEXT
    # column) costs a write; values it holds equal are stored alike (the columns are TEXT, INTEGER
    # and FLOAT).
    computed = f"{SCORES_SELECT} WHERE l.id = {listing_id}"
    return [
        f"DELETE FROM scores WHERE rowid IN (SELECT rowid FROM (SELECT {scores_insert_columns()}"
        f" FROM scores WHERE listing_id = {listing_id}"
        f" OR rowid = (SELECT rowid FROM listings WHERE id = {listing_id}) EXCEPT {computed}))",
        f"INSERT INTO scores ({scores_insert_columns()}) {computed}"
        " AND NOT EXISTS (SELECT 1 FROM scores AS s WHERE s.rowid = l.rowid)",
    ]


def scores_rows_refreshed_statements(listings: str, computed: str) -> list[str]:
    """What ``scores_row_statements`` does, for many listings at once: the rows of the listings whose
    id is ``IN listings`` are computed once into the temporary table
    ``computed`` (made by ``computed_scores_table_sql``); the stored rows that differ from theirs (or
    sit at another listing's rowid) are deleted, then the missing ones inserted. A row unchanged
    (most of a re-evaluation) costs a comparison instead of a delete and an insert in a dozen
    indexes."""
    current = (
        f"SELECT {scores_insert_columns()} FROM scores WHERE listing_id IN {listings}"
        f" OR rowid IN (SELECT scores_rowid FROM {computed})"
    )
    return [
        f"DELETE FROM {computed}",
        f"INSERT INTO {computed} {SCORES_SELECT} WHERE l.id IN {listings}",
        f"DELETE FROM scores WHERE rowid IN (SELECT rowid FROM ({current} EXCEPT"
        f" SELECT * FROM {computed}))",
        f"INSERT INTO scores ({scores_insert_columns()}) SELECT * FROM {computed} AS c"
        " WHERE NOT EXISTS (SELECT 1 FROM scores AS s WHERE s.rowid = c.scores_rowid)",
    ]


def computed_scores_table_sql(name: str) -> str:
    """A temporary table of scores rows (their rowid as ``scores_rowid``), its columns of the same
    affinity as those of ``scores``: a value is held there as ``scores`` would store it."""
    return f"CREATE TEMP TABLE IF NOT EXISTS {name} AS SELECT rowid AS scores_rowid, * FROM scores WHERE 0"


def _scores_row_sql(listing_id: str) -> str:
    return ";\n  ".join(scores_row_statements(listing_id)) + ";"


def _count_facets_sql(row: str, delta: int) -> str:
    return "\n  ".join(
        f"INSERT INTO {FACET_COUNTS_TABLE} (facet, value, count)"
        f" SELECT '{column}', {row}.{column}, {delta} WHERE {row}.{column} IS NOT NULL"
        f" ON CONFLICT (facet, value) DO UPDATE SET count = count + {delta};"
        for column in FACET_COLUMNS
    )


def fill_facet_counts_sql() -> str:
    """The statement that fills the facet counts whole from ``scores``."""
    return f"INSERT INTO {FACET_COUNTS_TABLE} (facet, value, count) " + " UNION ALL ".join(
        f"SELECT '{column}', {column}, count(*) FROM scores WHERE {column} IS NOT NULL"
        f" GROUP BY {column}"
        for column in FACET_COLUMNS
    )


def _count_verdicts_sql(table: str, row: str, delta: int) -> str:
    key = VERDICT_COUNTS[table]
    counted = " AND ".join(f"{row}.{term}" for term in _verdict_counted(key))
    return (
        f"INSERT INTO {table} ({key}, verdict, listings)"
        f" SELECT {row}.{key}, {row}.verdict, {delta} WHERE {counted}"
        f" ON CONFLICT ({key}, verdict) DO UPDATE SET listings = listings + {delta};"
    )


def fill_verdicts_sql(table: str) -> str:
    """The statement that fills a verdict count (VERDICT_COUNTS) whole from ``scores``."""
    key = VERDICT_COUNTS[table]
    return (
        f"INSERT INTO {table} ({key}, verdict, listings)"
        f" SELECT {key}, verdict, count(*) FROM scores WHERE {' AND '.join(_verdict_counted(key))}"
        f" GROUP BY {key}, verdict"
    )


# Each table counted from scores by the triggers on scores: its shape and the statement filling it.
COUNTED_TABLES: dict[str, tuple[Table, str]] = {
    FACET_COUNTS_TABLE: (FACET_COUNTS, fill_facet_counts_sql()),
    SHOP_VERDICTS_TABLE: (SHOP_VERDICTS, fill_verdicts_sql(SHOP_VERDICTS_TABLE)),
    CATEGORY_VERDICTS_TABLE: (CATEGORY_VERDICTS, fill_verdicts_sql(CATEGORY_VERDICTS_TABLE)),
}

# Every full-text index rebuilt from its content table (listings, scores): after a crawl, and by
# refresh_site_tables.
REBUILD_SEARCH = [f"INSERT INTO [{name}]([{name}]) VALUES ('rebuild')" for name in SEARCH_TABLES]
_REBUILD_SEARCH_SQL = ";\n  ".join(REBUILD_SEARCH) + ";"

SITE_TRIGGERS: dict[str, str] = {
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
    # A new category means another rubric's evaluation: the row is computed again.
    "scores_listing_category": f"""AFTER UPDATE OF category ON listings
WHEN OLD.category IS NOT NEW.category BEGIN
  {_scores_row_sql("NEW.id")}
END""",
    "scores_listing_product": """AFTER UPDATE OF product_id ON listings
WHEN OLD.product_id IS NOT NEW.product_id BEGIN
  UPDATE scores SET product_id = NEW.product_id WHERE listing_id = NEW.id;
END""",
    "scores_listing_delete": """AFTER DELETE ON listings BEGIN
  DELETE FROM scores WHERE listing_id = OLD.id;
END""",
    "scores_evaluation_insert": f"""AFTER INSERT ON evaluations
WHEN NEW.rubric IN ({SCORED_RUBRICS_SQL}) BEGIN
  {_scores_row_sql("NEW.listing_id")}
END""",
    # An evaluation updated in place (store/writers.py) computes its listing's row once; the row of
    # the listing it left, only when it moved to another.
    "scores_evaluation_update": f"""AFTER UPDATE ON evaluations
WHEN NEW.rubric IN ({SCORED_RUBRICS_SQL}) OR OLD.rubric IN ({SCORED_RUBRICS_SQL}) BEGIN
  {_scores_row_sql("NEW.listing_id")}
END""",
    "scores_evaluation_moved": f"""AFTER UPDATE OF listing_id ON evaluations
WHEN OLD.listing_id IS NOT NEW.listing_id
  AND (NEW.rubric IN ({SCORED_RUBRICS_SQL}) OR OLD.rubric IN ({SCORED_RUBRICS_SQL})) BEGIN
  {_scores_row_sql("OLD.listing_id")}
END""",
    # One rebuild per finished crawl keeps search current for `serumscope run` and cron without
    # per-row FTS triggers: ~0.5 s per 100k listings (the names' trigram index: 0.6 s more), once, as
    # the crawl records its end.
    "search_index_after_crawl": f"""AFTER UPDATE OF finished_at ON crawl_runs
WHEN NEW.finished_at IS NOT NULL AND OLD.finished_at IS NULL BEGIN
  {_REBUILD_SEARCH_SQL}
END""",
    "scores_evaluation_delete": f"""AFTER DELETE ON evaluations
WHEN OLD.rubric IN ({SCORED_RUBRICS_SQL}) BEGIN
  {_scores_row_sql("OLD.listing_id")}
END""",
}


def fill_scores_sql() -> str:
    """The statement that fills ``scores`` whole from listings and evaluations."""
    return f"INSERT INTO scores ({scores_insert_columns()}) {SCORES_SELECT}"


_FACET_CHANGED = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in FACET_COLUMNS)


def _verdicts_changed(table: str) -> str:
    columns = [VERDICT_COUNTS[table], "verdict", "gone_since"]
    return " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)


def _count_all_verdicts_sql(row: str, delta: int) -> str:
    return "\n  ".join(_count_verdicts_sql(table, row, delta) for table in VERDICT_COUNTS)


# Triggers on scores itself. A bulk refill drops them first (store/schema.py): with a trigger on it,
# SQLite deletes every row one by one (~30 s per 100k rows instead of ~1 s). The insert and delete
# triggers keep their first names (facet counts only) so an older database's are replaced, not doubled.
COUNT_TRIGGERS: dict[str, str] = {
    "facet_counts_scores_insert": f"""AFTER INSERT ON scores BEGIN
  {_count_facets_sql("NEW", 1)}
  {_count_all_verdicts_sql("NEW", 1)}
END""",
    "facet_counts_scores_delete": f"""AFTER DELETE ON scores BEGIN
  {_count_facets_sql("OLD", -1)}
  {_count_all_verdicts_sql("OLD", -1)}
END""",
    "facet_counts_scores_update": f"""AFTER UPDATE OF {", ".join(FACET_COLUMNS)} ON scores
WHEN {_FACET_CHANGED} BEGIN
  {_count_facets_sql("OLD", -1)}
  {_count_facets_sql("NEW", 1)}
END""",
    **{
        f"{key}_verdicts_scores_update": f"""AFTER UPDATE OF {key}, verdict, gone_since ON scores
WHEN {_verdicts_changed(table)} BEGIN
  {_count_verdicts_sql(table, "OLD", -1)}
  {_count_verdicts_sql(table, "NEW", 1)}
END"""
        for table, key in VERDICT_COUNTS.items()
    },
}
