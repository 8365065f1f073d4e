"""Every table of the serumscope database, as data (docs/schema.md says what each column means; the
indexes are in store/indexes.py). ``serumscope.store.schema.ensure_schema`` creates what is missing with sqlite-utils.

Tables by the stage that writes them: the crawler ``shops``, ``crawl_runs``, ``listings``, ``variants``,
``crawl_errors``, ``page_validators``, ``product_sources``; the evaluator ``evaluations``,
``ingredients``, ``actives``; ``serumscope run`` its ``runs``; SQLite triggers (store/history.py) the
history tables; ``scores`` is declared with the site's objects in store/site.py.
"""

from __future__ import annotations

from typing import NamedTuple

from evaluator.headline import HEADLINE_FACTS
from evaluator.listing import JSON_COLUMNS, listing_columns, variant_columns


class Table(NamedTuple):
    columns: dict[str, type]
    pk: str | tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    not_null: frozenset[str] = frozenset()


# The product a listing sells (store/products.py writes them after evaluation; a crawl keeps them):
# its id, how it was matched (gtin, mpn, name+formula, alone), the evidence, and a fingerprint of
# what matching read, so a re-run with nothing changed skips.
PRODUCT_LINK_COLUMNS: dict[str, type] = {
    "product_id": int,
    "product_match": str,
    "product_match_reason": str,
    "product_input": str,
}

ANY = bytes  # no type affinity: the value is stored as given (a listing field's old and new value)

CRAWL_TABLES: dict[str, Table] = {
    "shops": Table(
        {
            "name": str,
            "platform": str,
            "base_url": str,
            "config": str,
            "added_at": str,
            "full_crawl_at": str,
        },
        "name",
    ),
    "crawl_runs": Table(
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
    ),
    "listings": Table(
        {**listing_columns(), **PRODUCT_LINK_COLUMNS}, "id", (("shop", "shops", "name"),)
    ),
    "variants": Table(variant_columns(), "id", (("listing_id", "listings", "id"),)),
    "crawl_errors": Table(
        {
            "id": int,
            "run_id": int,
            "shop": str,
            "url": str,
            "kind": str,
            "status": int,
            "message": str,
            "occurred_at": str,
            # made by whoever records the error (uuid4); unique (store/indexes.py), so an error a
            # distributed crawl's stream delivers twice is stored once
            "error_key": str,
        },
        "id",
    ),
    "page_validators": Table(
        {"url": str, "etag": str, "last_modified": str, "listing_id": str, "stored_at": str}, "url"
    ),
    # store/freshness.py: each product's change signal when it was last read in full
    "product_sources": Table(
        {"shop": str, "key": str, "listing_id": str, "version": str, "read_at": str},
        ("shop", "key"),
    ),
    # How far `serumscope ingest` has written a distributed crawl's Redis stream (crawler/frontier):
    # updated in the transaction that stores the entries, so a killed ingest stores none twice.
    "ingest_positions": Table({"stream": str, "last_id": str, "run_id": int}, "stream"),
}

EVALUATION_TABLES: dict[str, Table] = {
    "evaluations": Table(
        {
            "listing_id": str,
            "rubric": str,
            "rubric_version": str,
            "score": int,
            "verdict": str,
            "verdict_reason": str,
            "red_flags": str,
            **{fact.column: fact.type for fact in HEADLINE_FACTS},
            "shortfalls": str,
            "breakdown": str,
            "facts": str,
            "input_hash": str,
            "evaluated_at": str,
            "vocabulary_version": str,
        },
        ("listing_id", "rubric"),
        (("listing_id", "listings", "id"),),
    ),
    "ingredients": Table(
        {"listing_id": str, "position": int, "raw": str, "canonical": str, "known": int},
        ("listing_id", "position"),
        (("listing_id", "listings", "id"),),
    ),
    "actives": Table(
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
        (("listing_id", "listings", "id"),),
    ),
}

# Columns derived from other stored values, written with their row; when an existing database gains
# one, this SQL fills it for the rows it already holds.
_PREVIOUS_VARIANT = """(SELECT p.{0} FROM variant_history AS p
        WHERE p.variant_id = variant_history.variant_id AND p.id < variant_history.id
        ORDER BY p.id DESC LIMIT 1)"""
DERIVED_COLUMNS: dict[tuple[str, str], str] = {
    **{
        ("variant_history", f"old_{column}"): _PREVIOUS_VARIANT.format(column)
        for column in ("price", "regular_price", "currency", "available")
    },
    ("evaluations", "order_contradictions"): """nullif((
        SELECT json_group_array(json_object(
            'active', json_extract(c.value, '$.active'), 'reason', json_extract(c.value, '$.reason')))
        FROM json_each(CASE WHEN json_valid(facts) THEN facts END, '$.order_contradictions') AS c),
        '[]')""",
    ("evaluations", "shortfalls"): """(
        SELECT group_concat(
            json_extract(c.value, '$.title') || ': ' || json_extract(c.value, '$.reason'), ' ')
        FROM json_each(CASE WHEN verdict != 'not-scored' AND json_valid(breakdown) THEN breakdown END) AS c
        WHERE json_extract(c.value, '$.status') IN ('fail', 'unknown'))""",
}

# Append-only, written by the triggers of store/history.py; docs/scheduling.md describes them.
HISTORY_TABLES: dict[str, Table] = {
    "variant_history": Table(
        {
            "id": int,
            "variant_id": str,
            "listing_id": str,
            "price": str,
            "regular_price": str,
            "currency": str,
            "available": int,
            "change": str,
            "changed_at": str,
            "run_id": int,
            "old_price": str,
            "old_regular_price": str,
            "old_currency": str,
            "old_available": int,
        },
        "id",
        not_null=frozenset({"variant_id", "listing_id", "change", "changed_at"}),
    ),
    "ingredient_changes": Table(
        {
            "id": int,
            "listing_id": str,
            "kind": str,
            "old_text": str,
            "new_text": str,
            "changed_at": str,
            "run_id": int,
        },
        "id",
        not_null=frozenset({"listing_id", "kind", "changed_at"}),
    ),
    "listing_changes": Table(
        {
            "id": int,
            "listing_id": str,
            "field": str,
            "old_value": ANY,
            "new_value": ANY,
            "changed_at": str,
            "run_id": int,
        },
        "id",
        not_null=frozenset({"listing_id", "field", "changed_at"}),
    ),
    "score_changes": Table(
        {
            "id": int,
            "listing_id": str,
            "rubric": str,
            "old_score": int,
            "new_score": int,
            "old_verdict": str,
            "new_verdict": str,
            "old_rubric_version": str,
            "new_rubric_version": str,
            "changed_at": str,
            "run_id": int,
        },
        "id",
        not_null=frozenset({"listing_id", "rubric", "changed_at"}),
    ),
    "listing_events": Table(
        {
            "id": int,
            "listing_id": str,
            "shop": str,
            "event": str,
            "occurred_at": str,
            "run_id": int,
        },
        "id",
        not_null=frozenset({"listing_id", "event", "occurred_at"}),
    ),
    "runs": Table(
        {
            "id": int,
            "crawl_run_id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "exit_code": int,
            "phase": str,
            "pid": int,
            "shops": str,
            "listings_seen": int,
            "gone": int,
            "back": int,
            "evaluated": int,
            "timings": str,
            "summary": str,
            "error": str,
            "log_path": str,
        },
        "id",
        not_null=frozenset({"started_at", "status"}),
    ),
}

# One product sold by one or more shops (store/products.py, docs/schema.md "Products").
PRODUCT_TABLES: dict[str, Table] = {
    "products": Table(
        {
            "id": int,
            "brand": str,
            "name": str,
            "vitamin_c_forms": str,
            "vitamin_c_percent": float,
            "ingredients": str,
            "listings": int,
            "shops": int,
            "score": int,
            "verdict": str,
            "best_variant_id": str,
            "best_listing_id": str,
            "best_shop": str,
            "best_price": str,
            "best_currency": str,
            "best_price_per_30ml": float,
            "first_seen": str,
            "updated_at": str,
            "retired_at": str,
            "formula_listing_id": str,
            "formula_checks": str,
            "formula_points": int,
        },
        "id",
    ),
    "offers": Table(
        {
            "variant_id": str,
            "product_id": int,
            "listing_id": str,
            "shop": str,
            "name": str,
            "url": str,
            "variant": str,
            "size_ml": float,
            "price": str,
            "currency": str,
            "price_usd": float,
            "price_per_30ml": float,
            "available": int,
            "last_seen": str,
            "rank": int,
            "is_best": int,
            "price_check": str,
            "price_points": int,
            "offer_score": int,
            "offer_verdict": str,
        },
        "variant_id",
    ),
    "product_events": Table(
        {
            "id": int,
            "product_id": int,
            "listing_id": str,
            "shop": str,
            "event": str,
            "detail": str,
            "occurred_at": str,
            "run_id": int,  # the latest crawl run when it happened (recent_changes shows it)
        },
        "id",
        not_null=frozenset({"product_id", "event", "occurred_at"}),
    ),
}

TABLES: dict[str, Table] = {
    **CRAWL_TABLES,
    **EVALUATION_TABLES,
    **HISTORY_TABLES,
    **PRODUCT_TABLES,
}  # and ``scores``, derived from listings and evaluations: store/site.py

# listings columns stored as JSON text; the listing dict (docs/schema.md) holds them decoded.
LISTING_JSON_COLUMNS = JSON_COLUMNS

# crawl_errors kinds that are the shop's choice or a typo, not a failure: pages robots.txt forbids,
# sitemap entries that are no URL of the shop, off-site links. Recorded, never counted as errors.
SOFT_ERROR_KINDS = ("robots", "junk-url", "offsite")

SEARCH_TABLE = "listings_fts"  # FTS5 over listings, rebuilt after each crawl (store/site.py)
SEARCH_COLUMNS = ["title", "brand", "ingredients_text"]
# Trigram FTS5 over scores.name (sqlite-utils names it "<table>_fts"), rebuilt with the one above:
# the compare query's "name contains" finds a rare phrase's names without reading all 100k.
NAME_SEARCH_TABLE = "scores_fts"
NAME_SEARCH_COLUMNS = ["name"]
# Every full-text index, for what rebuilds them all
SEARCH_TABLES = (SEARCH_TABLE, NAME_SEARCH_TABLE)
