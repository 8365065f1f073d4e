"""History of everything a crawl or an evaluation overwrites, recorded by SQLite triggers.

The crawler upserts ``listings`` and ``variants`` and the evaluator upserts ``evaluations``; neither
needs to know about history. Triggers on those tables write a row here whenever a value a person may
care about changes, so nothing is overwritten without a trace and an unchanged re-crawl adds nothing.

Tables (append-only; docs/scheduling.md describes every column):

``variant_history``
    One row per variant when it is first seen and whenever its ``price``, ``regular_price`` or
    ``available`` changes (not a copy per run).
``ingredient_changes``
    The listing's ``ingredients_text`` before and after, whenever it changes (a reformulation, or a
    list found or lost by the crawler: ``kind`` says which).
``listing_changes``
    Old and new value of the other listing facts a crawl may overwrite (title, brand, url,
    description, candidate flag and reason).
``score_changes``
    Score, verdict and rubric version before and after, per listing and rubric; the first score of a
    listing has NULL ``old_*``.
``listing_events``
    ``appeared`` (first stored), ``gone`` (``gone_since`` set by a run reconciling its shop) and
    ``back`` (``gone_since`` cleared).
``runs``
    One row per ``serumscope run`` cycle (written by :mod:`serumscope.runs`, not by triggers).
``page_validators``
    Not history: the ETag / Last-Modified each product page last answered with, so the next crawl
    can ask "changed since?" (written by ``crawler.incremental``).

Every history row carries ``run_id``, the ``crawl_runs.id`` it belongs to: the listing's
``last_run_id`` (the run that saw the change), or for ``gone`` events the latest crawl run (the one
reconciling its shop). Times are ISO 8601 UTC (``2026-11-22T06:00:00Z``).

Views: ``variant_changes`` (each variant history row beside the one before it), ``price_drops``,
``new_recommendations`` and ``recent_changes`` (every change of the runs since the previous completed
crawl run, one row per change, newest first).
"""

from __future__ import annotations

import re

import sqlite_utils

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
    "relevance_reason",
)

HISTORY_TABLES = {
    "variant_history": """
        CREATE TABLE IF NOT EXISTS variant_history (
            id INTEGER PRIMARY KEY,
            variant_id TEXT NOT NULL,
            listing_id TEXT NOT NULL,
            price TEXT,
            regular_price TEXT,
            currency TEXT,
            available INTEGER,
            change TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            run_id INTEGER
        )""",
    "ingredient_changes": """
        CREATE TABLE IF NOT EXISTS ingredient_changes (
            id INTEGER PRIMARY KEY,
            listing_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            old_text TEXT,
            new_text TEXT,
            changed_at TEXT NOT NULL,
            run_id INTEGER
        )""",
    "listing_changes": """
        CREATE TABLE IF NOT EXISTS listing_changes (
            id INTEGER PRIMARY KEY,
            listing_id TEXT NOT NULL,
            field TEXT NOT NULL,
            old_value,
            new_value,
            changed_at TEXT NOT NULL,
            run_id INTEGER
        )""",
    "score_changes": """
        CREATE TABLE IF NOT EXISTS score_changes (
            id INTEGER PRIMARY KEY,
            listing_id TEXT NOT NULL,
            rubric TEXT NOT NULL,
            old_score INTEGER,
            new_score INTEGER,
            old_verdict TEXT,
            new_verdict TEXT,
            old_rubric_version TEXT,
            new_rubric_version TEXT,
            changed_at TEXT NOT NULL,
            run_id INTEGER
        )""",
    "listing_events": """
        CREATE TABLE IF NOT EXISTS listing_events (
            id INTEGER PRIMARY KEY,
            listing_id TEXT NOT NULL,
            shop TEXT,
            event TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            run_id INTEGER
        )""",
    "runs": """
        CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            crawl_run_id INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            exit_code INTEGER,
            phase TEXT,
            pid INTEGER,
            shops TEXT,
            listings_seen INTEGER,
            gone INTEGER,
            back INTEGER,
            evaluated INTEGER,
            timings TEXT,
            summary TEXT,
            error TEXT,
            log_path TEXT
        )""",
    "page_validators": """
        CREATE TABLE IF NOT EXISTS page_validators (
            url TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            listing_id TEXT,
            stored_at TEXT
        )""",
}

HISTORY_INDEXES = {
    "idx_variant_history_variant": "variant_history (variant_id, id)",
    "idx_variant_history_listing": "variant_history (listing_id)",
    "idx_variant_history_run": "variant_history (run_id)",
    "idx_ingredient_changes_listing": "ingredient_changes (listing_id)",
    "idx_ingredient_changes_run": "ingredient_changes (run_id)",
    "idx_listing_changes_listing": "listing_changes (listing_id)",
    "idx_listing_changes_run": "listing_changes (run_id)",
    "idx_score_changes_listing": "score_changes (listing_id, rubric, id)",
    "idx_score_changes_run": "score_changes (run_id)",
    "idx_listing_events_listing": "listing_events (listing_id)",
    "idx_listing_events_run": "listing_events (run_id)",
}

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

_RECORD_VARIANT = f"""
    INSERT INTO variant_history
        (variant_id, listing_id, price, regular_price, currency, available, change, changed_at, run_id)
    VALUES (
        NEW.id, NEW.listing_id, NEW.price, NEW.regular_price, NEW.currency, NEW.available,
        CASE WHEN EXISTS (SELECT 1 FROM variant_history WHERE variant_id = NEW.id)
             THEN 'changed' ELSE 'new' END,
        {NOW}, {LISTING_RUN}
    );"""

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
        f"history_listing_{field}": f"""
CREATE TRIGGER history_listing_{field} AFTER UPDATE OF {field} ON listings
WHEN OLD.{field} IS NOT NEW.{field}
BEGIN
    INSERT INTO listing_changes (listing_id, field, old_value, new_value, changed_at, run_id)
    VALUES (NEW.id, '{field}', OLD.{field}, NEW.{field}, {NOW}, NEW.last_run_id);
END"""
        for field in TRACKED_LISTING_FIELDS
    }


HISTORY_TRIGGERS = {
    "history_variant_insert": f"""
CREATE TRIGGER history_variant_insert AFTER INSERT ON variants
WHEN NOT {_VARIANT_UNCHANGED}
BEGIN {_RECORD_VARIANT}
END""",
    "history_variant_update": f"""
CREATE TRIGGER history_variant_update AFTER UPDATE OF price, regular_price, available, currency ON variants
WHEN NOT {_VARIANT_UNCHANGED}
BEGIN {_RECORD_VARIANT}
END""",
    "history_ingredients": f"""
CREATE TRIGGER history_ingredients AFTER UPDATE OF ingredients_text ON listings
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
    "history_listing_appeared": f"""
CREATE TRIGGER history_listing_appeared AFTER INSERT ON listings
WHEN NOT EXISTS (SELECT 1 FROM listing_events WHERE listing_id = NEW.id AND event = 'appeared')
BEGIN
    INSERT INTO listing_events (listing_id, shop, event, occurred_at, run_id)
    VALUES (NEW.id, NEW.shop, 'appeared', {NOW}, NEW.last_run_id);
END""",
    "history_listing_gone": f"""
CREATE TRIGGER history_listing_gone AFTER UPDATE OF gone_since ON listings
WHEN OLD.gone_since IS NULL AND NEW.gone_since IS NOT NULL
BEGIN
    INSERT INTO listing_events (listing_id, shop, event, occurred_at, run_id)
    VALUES (NEW.id, NEW.shop, 'gone', NEW.gone_since, {LATEST_CRAWL_RUN});
END""",
    "history_listing_back": f"""
CREATE TRIGGER history_listing_back AFTER UPDATE OF gone_since ON listings
WHEN OLD.gone_since IS NOT NULL AND NEW.gone_since IS NULL
BEGIN
    INSERT INTO listing_events (listing_id, shop, event, occurred_at, run_id)
    VALUES (NEW.id, NEW.shop, 'back', {NOW}, NEW.last_run_id);
END""",
    "history_score_insert": f"""
CREATE TRIGGER history_score_insert AFTER INSERT ON evaluations
WHEN NOT {_SCORE_UNCHANGED}
BEGIN {_RECORD_SCORE}
END""",
    "history_score_update": f"""
CREATE TRIGGER history_score_update AFTER UPDATE OF score, verdict, rubric_version ON evaluations
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

HISTORY_VIEWS = {
    "variant_changes": """
CREATE VIEW variant_changes AS
SELECT h.id, h.run_id, h.changed_at, h.variant_id, h.listing_id,
       l.shop, l.title AS listing_title, v.title AS variant_title, l.url,
       h.change,
       p.price AS old_price, h.price AS new_price,
       p.regular_price AS old_regular_price, h.regular_price AS new_regular_price,
       p.available AS old_available, h.available AS new_available,
       p.currency AS old_currency, h.currency
FROM variant_history h
LEFT JOIN variant_history p ON p.id = (
    SELECT max(q.id) FROM variant_history q WHERE q.variant_id = h.variant_id AND q.id < h.id
)
LEFT JOIN listings l ON l.id = h.listing_id
LEFT JOIN variants v ON v.id = h.variant_id""",
    "price_drops": """
CREATE VIEW price_drops AS
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
CREATE VIEW new_recommendations AS
SELECT s.id, s.run_id, s.changed_at, s.listing_id, l.shop, l.title, l.url, s.rubric,
       s.new_score AS score, s.old_verdict AS previous_verdict
FROM score_changes s
LEFT JOIN listings l ON l.id = s.listing_id
WHERE s.new_verdict = 'recommend' AND s.old_verdict IS NOT 'recommend'
ORDER BY s.id DESC""",
    "recent_changes": f"""
CREATE VIEW recent_changes AS
SELECT c.run_id, c.changed_at, c.change, c.listing_id, l.shop, l.title, l.url,
       c.detail, c.old_value, c.new_value
FROM (
    SELECT run_id, changed_at,
           CASE WHEN old_price IS NOT new_price THEN 'price' ELSE 'availability' END AS change,
           listing_id, variant_title AS detail,
           CASE WHEN old_price IS NOT new_price THEN old_price ELSE old_available END AS old_value,
           CASE WHEN old_price IS NOT new_price THEN new_price ELSE new_available END AS new_value
    FROM variant_changes
    WHERE {_SINCE} AND change = 'changed'
      AND (old_price IS NOT new_price OR old_available IS NOT new_available)
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
) AS c
LEFT JOIN listings l ON l.id = c.listing_id
ORDER BY c.changed_at DESC, c.listing_id""",
}


def _column_definitions(create_table: str) -> dict[str, str]:
    """Column name -> type of a CREATE TABLE written one column per line (as above)."""
    body = create_table[create_table.index("(") + 1 : create_table.rindex(")")]
    columns = {}
    for line in body.splitlines():
        parts = line.strip().rstrip(",").split()
        if parts and "PRIMARY" not in parts and "NOT" not in parts:
            columns[parts[0]] = " ".join(parts[1:])
    return columns


def _normalised(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip()


def ensure_history_schema(db: sqlite_utils.Database) -> None:
    """Create the history tables, indexes, triggers and views; replace triggers/views whose SQL changed.

    Idempotent and cheap when everything is current (one read of ``sqlite_master``, no write), so
    every process opening the database may call it.
    """
    if not _pending_statements(db):
        return
    conn = db.conn
    in_transaction = conn.in_transaction
    if not in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    try:
        # Again under the write lock: another process may have just done the same.
        for statement in _pending_statements(db):
            conn.execute(statement)
    except BaseException:
        if not in_transaction:
            conn.execute("ROLLBACK")
        raise
    if not in_transaction:
        conn.execute("COMMIT")


def _pending_statements(db: sqlite_utils.Database) -> list[str]:
    existing = {
        (row[0], row[1]): row[2]
        for row in db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    }
    statements: list[str] = []
    for name, sql in HISTORY_TABLES.items():
        if ("table", name) not in existing:
            statements.append(sql)
            continue
        present = {row[1] for row in db.execute(f"PRAGMA table_info({name})")}
        for column, definition in _column_definitions(sql).items():
            if column not in present:
                statements.append(f"ALTER TABLE {name} ADD COLUMN {column} {definition}")
    for name, target in HISTORY_INDEXES.items():
        if ("index", name) not in existing:
            statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    for kind, objects in (("trigger", HISTORY_TRIGGERS), ("view", HISTORY_VIEWS)):
        for name, sql in objects.items():
            if _normalised(existing.get((kind, name))) != _normalised(sql):
                statements.append(f"DROP {kind.upper()} IF EXISTS {name}")
                statements.append(sql)
    if ("table", "variant_history") not in existing:
        # A database that predates history: its current prices are the baseline of every variant.
        statements.append(
            f"""INSERT INTO variant_history (variant_id, listing_id, price, regular_price, currency,
                    available, change, changed_at, run_id)
                SELECT v.id, v.listing_id, v.price, v.regular_price, v.currency, v.available, 'new',
                       coalesce(v.last_seen, {NOW}), l.last_run_id
                FROM variants v LEFT JOIN listings l ON l.id = v.listing_id"""
        )
    return statements
