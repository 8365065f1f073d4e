"""History of everything a crawl or an evaluation overwrites, recorded by SQLite triggers.

The crawler upserts ``listings`` and ``variants`` and the evaluator upserts ``evaluations``; neither
needs to know about history. The triggers here write a row into the history tables (store/tables.py,
docs/scheduling.md) whenever a value a person may care about changes, so nothing is overwritten without
a trace and an unchanged re-crawl adds nothing.

Every history row carries ``run_id``, the ``crawl_runs.id`` it belongs to: the listing's
``last_run_id`` (the run that saw the change), or for ``gone`` events the latest crawl run (the one
reconciling its shop). Times are ISO 8601 UTC (``2026-11-22T06:00:00Z``).

Views: ``variant_changes`` (each variant history row beside the one before it), ``price_drops``,
``new_recommendations`` and ``recent_changes`` (every change of the runs since the previous completed
crawl run, one row per change, newest first, with the product events a shopper follows: a product at
a new shop, an offer now its cheapest (store/products.py); ``recent_change_rows`` the same rows without the
listing's shop, name and address, unordered).
"""

from __future__ import annotations

# ISO 8601 UTC, as every time serumscope stores
NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
LISTING_RUN = "(SELECT last_run_id FROM listings WHERE id = NEW.listing_id)"
LATEST_CRAWL_RUN = "(SELECT max(id) FROM crawl_runs)"

# Listing facts (besides ingredients, which get their own table) whose old value is kept on change.
TRACKED_LISTING_FIELDS = (
    "title",
    "brand",
    "url",
    "description",
    "is_candidate",
    "category",
    "relevance_reason",
)

# The latest recorded state of a variant equals NEW: nothing to record. Comparing with the history
# rather than with OLD also keeps the history exact when a writer deletes and re-inserts variants.
_VARIANT_UNCHANGED = """
    EXISTS (
        SELECT 1 FROM (
            SELECT price, regular_price, available, currency FROM variant_history
            WHERE variant_id = NEW.id ORDER BY id DESC LIMIT 1
        ) AS last
        WHERE last.price IS NEW.price AND last.regular_price IS NEW.regular_price
          AND last.available IS NEW.available AND last.currency IS NEW.currency
    )"""

# Each row keeps the values before it (old_*), so pages of changes read one row per change.
_RECORD_VARIANT = f"""
    INSERT INTO variant_history
        (variant_id, listing_id, price, regular_price, currency, available, change, changed_at, run_id,
         old_price, old_regular_price, old_currency, old_available)
    SELECT NEW.id, NEW.listing_id, NEW.price, NEW.regular_price, NEW.currency, NEW.available,
           CASE WHEN last.id IS NOT NULL THEN 'changed' ELSE 'new' END,
           {NOW}, {LISTING_RUN},
           last.price, last.regular_price, last.currency, last.available
    FROM (SELECT 1) LEFT JOIN (
        SELECT id, price, regular_price, currency, available FROM variant_history
        WHERE variant_id = NEW.id ORDER BY id DESC LIMIT 1
    ) AS last;"""

_SCORE_UNCHANGED = """
    EXISTS (
        SELECT 1 FROM (
            SELECT new_score, new_verdict, new_rubric_version FROM score_changes
            WHERE listing_id = NEW.listing_id AND rubric = NEW.rubric ORDER BY id DESC LIMIT 1
        ) AS last
        WHERE last.new_score IS NEW.score AND last.new_verdict IS NEW.verdict
          AND last.new_rubric_version IS NEW.rubric_version
    )"""

_RECORD_SCORE = f"""
    INSERT INTO score_changes
        (listing_id, rubric, old_score, new_score, old_verdict, new_verdict,
         old_rubric_version, new_rubric_version, changed_at, run_id)
    SELECT NEW.listing_id, NEW.rubric, last.new_score, NEW.score, last.new_verdict, NEW.verdict,
           last.new_rubric_version, NEW.rubric_version, {NOW}, {LISTING_RUN}
    FROM (SELECT 1) LEFT JOIN (
        SELECT new_score, new_verdict, new_rubric_version FROM score_changes
        WHERE listing_id = NEW.listing_id AND rubric = NEW.rubric ORDER BY id DESC LIMIT 1
    ) AS last;"""


def _listing_field_triggers() -> dict[str, str]:
    return {
        f"history_listing_{field}": f"""AFTER UPDATE OF {field} ON listings
WHEN OLD.{field} IS NOT NEW.{field}
BEGIN
    INSERT INTO listing_changes (listing_id, field, old_value, new_value, changed_at, run_id)
    VALUES (NEW.id, '{field}', OLD.{field}, NEW.{field}, {NOW}, NEW.last_run_id);
END"""
        for field in TRACKED_LISTING_FIELDS
    }


HISTORY_TRIGGERS = {
    "history_variant_insert": f"""AFTER INSERT ON variants
WHEN NOT {_VARIANT_UNCHANGED}
BEGIN {_RECORD_VARIANT}
END""",
    "history_variant_update": f"""AFTER UPDATE OF price, regular_price, available, currency ON variants
WHEN NOT {_VARIANT_UNCHANGED}
BEGIN {_RECORD_VARIANT}
END""",
    "history_ingredients": f"""AFTER UPDATE OF ingredients_text ON listings
WHEN OLD.ingredients_text IS NOT NEW.ingredients_text
BEGIN
    INSERT INTO ingredient_changes (listing_id, kind, old_text, new_text, changed_at, run_id)
    VALUES (
        NEW.id,
        CASE WHEN OLD.ingredients_text IS NULL THEN 'found'
             WHEN NEW.ingredients_text IS NULL THEN 'lost'
             ELSE 'changed' END,
        OLD.ingredients_text, NEW.ingredients_text, {NOW}, NEW.last_run_id
    );
END""",
    **_listing_field_triggers(),
    "history_listing_appeared": f"""AFTER INSERT ON listings
WHEN NOT EXISTS (SELECT 1 FROM listing_events WHERE listing_id = NEW.id AND event = 'appeared')
BEGIN
    INSERT INTO listing_events (listing_id, shop, event, occurred_at, run_id)
    VALUES (NEW.id, NEW.shop, 'appeared', {NOW}, NEW.last_run_id);
END""",
    "history_listing_gone": f"""AFTER UPDATE OF gone_since ON listings
WHEN OLD.gone_since IS NULL AND NEW.gone_since IS NOT NULL
BEGIN
    INSERT INTO listing_events (listing_id, shop, event, occurred_at, run_id)
    VALUES (NEW.id, NEW.shop, 'gone', NEW.gone_since, {LATEST_CRAWL_RUN});
END""",
    "history_listing_back": f"""AFTER UPDATE OF gone_since ON listings
WHEN OLD.gone_since IS NOT NULL AND NEW.gone_since IS NULL
BEGIN
    INSERT INTO listing_events (listing_id, shop, event, occurred_at, run_id)
    VALUES (NEW.id, NEW.shop, 'back', {NOW}, NEW.last_run_id);
END""",
    "history_score_insert": f"""AFTER INSERT ON evaluations
WHEN NOT {_SCORE_UNCHANGED}
BEGIN {_RECORD_SCORE}
END""",
    "history_score_update": f"""AFTER UPDATE OF score, verdict, rubric_version ON evaluations
WHEN NOT {_SCORE_UNCHANGED}
BEGIN {_RECORD_SCORE}
END""",
}

# The crawl runs whose changes `recent_changes` shows: every run after the previous completed one
# (a failed or interrupted run does not push the last good run's changes out of view).
# Repeated in each arm of the union so that SQLite can use each table's run_id index.
_SINCE = """run_id > coalesce((
        SELECT id FROM crawl_runs
        WHERE finished_at IS NOT NULL AND status NOT IN ('running', 'interrupted', 'failed')
        ORDER BY id DESC LIMIT 1 OFFSET 1
    ), 0)"""

# In the order they are created: later views read earlier ones.
HISTORY_VIEWS = {
    "variant_changes": """
SELECT h.id, h.run_id, h.changed_at, h.variant_id, h.listing_id,
       l.shop, l.title AS listing_title, v.title AS variant_title, l.url,
       h.change,
       h.old_price, h.price AS new_price,
       h.old_regular_price, h.regular_price AS new_regular_price,
       h.old_available, h.available AS new_available,
       h.old_currency, h.currency
FROM variant_history h
LEFT JOIN listings l ON l.id = h.listing_id
LEFT JOIN variants v ON v.id = h.variant_id""",
    "price_drops": """
SELECT id, run_id, changed_at, listing_id, variant_id, shop, listing_title, variant_title, url,
       old_price, new_price, currency,
       round(CAST(old_price AS REAL) - CAST(new_price AS REAL), 2) AS drop_amount,
       round(100.0 * (CAST(old_price AS REAL) - CAST(new_price AS REAL))
             / CAST(old_price AS REAL), 1) AS drop_percent
FROM variant_changes
WHERE change = 'changed' AND old_price IS NOT NULL AND new_price IS NOT NULL
  AND old_currency IS currency
  AND CAST(new_price AS REAL) < CAST(old_price AS REAL)
ORDER BY id DESC""",
    "new_recommendations": """
SELECT s.id, s.run_id, s.changed_at, s.listing_id, l.shop, l.title, l.url, s.rubric,
       s.new_score AS score, s.old_verdict AS previous_verdict
FROM score_changes s
LEFT JOIN listings l ON l.id = s.listing_id
WHERE s.new_verdict = 'recommend' AND s.old_verdict IS NOT 'recommend'
ORDER BY s.id DESC""",
    # One row per change, without the listing's name: pages join that to the rows they show.
    "recent_change_rows": f"""
SELECT run_id, changed_at,
       CASE WHEN h.old_price IS NOT h.price THEN 'price' ELSE 'availability' END AS change,
       h.listing_id, v.title AS detail,
       CASE WHEN h.old_price IS NOT h.price THEN h.old_price ELSE h.old_available END AS old_value,
       CASE WHEN h.old_price IS NOT h.price THEN h.price ELSE h.available END AS new_value
FROM variant_history h LEFT JOIN variants v ON v.id = h.variant_id
WHERE {_SINCE} AND h.change = 'changed'
  AND (h.old_price IS NOT h.price OR h.old_available IS NOT h.available)
UNION ALL
SELECT run_id, changed_at, 'ingredients', listing_id, kind, old_text, new_text
FROM ingredient_changes WHERE {_SINCE}
UNION ALL
SELECT run_id, changed_at, field, listing_id, NULL, old_value, new_value
FROM listing_changes WHERE {_SINCE}
UNION ALL
SELECT run_id, changed_at, 'score', listing_id, rubric,
       old_score || ' ' || old_verdict, new_score || ' ' || new_verdict
FROM score_changes WHERE {_SINCE} AND (old_score IS NOT NULL OR old_verdict IS NOT NULL)
UNION ALL
SELECT run_id, occurred_at, event, listing_id, NULL, NULL, NULL
FROM listing_events WHERE {_SINCE}
UNION ALL
SELECT run_id, occurred_at, event, listing_id, 'product ' || product_id, NULL, detail
FROM product_events WHERE {_SINCE} AND event IN ('new shop', 'now cheapest')""",
    "recent_changes": """
SELECT c.run_id, c.changed_at, c.change, c.listing_id, l.shop, l.title, l.url,
       c.detail, c.old_value, c.new_value
FROM recent_change_rows AS c
LEFT JOIN listings l ON l.id = c.listing_id
ORDER BY c.changed_at DESC, c.listing_id""",
}
