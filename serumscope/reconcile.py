"""Reconciling a shop after a crawl: which of its listings are gone, which are back, and whether its
answer can be trusted to say so.

A listing the crawl saw again loses its ``gone_since``. A listing the crawl did not see gets
``gone_since`` only when the shop's answer was sound (status ``ok``, decided by
``serumscope.store.status.shop_answer_status``); a ``failed``, ``suspect`` or ``partial`` shop keeps
its listings as they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from serumscope.store.clock import utc_now
from serumscope.store.database import transaction
from serumscope.store.status import ShopAnswer, shop_answer_status
from serumscope.store.tables import SOFT_ERROR_KINDS

# Per-URL errors that mean "this product no longer exists" rather than "could not tell".
GONE_HTTP_STATUSES = (404, 410)

SEEN_SQL = "SELECT count(*) FROM listings WHERE shop = :shop AND last_run_id = :run"
LISTED_BEFORE_SQL = """
    SELECT count(*) FROM listings l
    WHERE shop = :shop AND gone_since IS NULL
      AND l.id NOT IN (SELECT listing_id FROM listing_events
                       WHERE run_id = :run AND event = 'appeared')"""
ERRORS_SQL = "SELECT count(*) FROM crawl_errors WHERE shop = :shop AND run_id = :run"
# Hard errors on URLs that are no stored listing's page (404/410 aside): feeds, sitemaps, categories.
FAILED_CATALOGUE_PAGES_SQL = f"""
    SELECT count(*) FROM crawl_errors
    WHERE run_id = :run AND shop = :shop AND kind NOT IN {SOFT_ERROR_KINDS}
      AND coalesce(status, 0) NOT IN {GONE_HTTP_STATUSES}
      AND coalesce(url, '') NOT IN (
          SELECT url FROM listings WHERE shop = :shop AND url IS NOT NULL)"""
PIPELINE_ERRORS_SQL = (
    "SELECT count(*) FROM crawl_errors WHERE run_id = :run AND shop = :shop AND kind = 'pipeline'"
)
MARK_BACK_SQL = """
    UPDATE listings SET gone_since = NULL
    WHERE shop = :shop AND last_run_id = :run AND gone_since IS NOT NULL"""
MARK_GONE_SQL = f"""
    UPDATE listings SET gone_since = :gone_at
    WHERE shop = :shop AND gone_since IS NULL
      AND (last_run_id IS NULL OR last_run_id != :run)
      AND coalesce(url, '') NOT IN (
          SELECT url FROM crawl_errors
          WHERE run_id = :run AND shop = :shop AND url IS NOT NULL
            AND coalesce(status, 0) NOT IN {GONE_HTTP_STATUSES})"""


@dataclass
class ShopOutcome:
    """How one shop fared in a run and what reconciling it did."""

    status: str  # ok | partial | failed | suspect
    seen: int
    listed_before: int
    errors: int
    gone: int = 0
    back: int = 0
    reason: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v or k in ("status", "seen")}


def crawler_shop_summaries(db: sqlite_utils.Database, crawl_run_id: int) -> dict[str, dict]:
    """Per-shop summaries the crawler stored in ``crawl_runs.stats`` (``{shop: {"status", ...}}``)."""
    row = db.execute("SELECT stats FROM crawl_runs WHERE id = ?", [crawl_run_id]).fetchone()
    try:
        data = json.loads(row[0]) if row and row[0] else {}
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    shops = data.get("shops", data)
    if not isinstance(shops, dict):
        return {}
    return {k: v for k, v in shops.items() if isinstance(v, dict)}


def reconcile_shop(
    db: sqlite_utils.Database,
    shop: str,
    crawl_run_id: int,
    *,
    crawl_completed: bool,
    crawler_summary: dict | None = None,
    gone_at: str | None = None,
) -> ShopOutcome:
    """Mark the shop's unseen listings gone and its returning listings back, when its answer is sound.

    Listings seen by this crawl (``last_run_id``) that had ``gone_since`` are always cleared (seeing
    them is proof). Unseen listings get ``gone_since`` only when the shop answered normally: the
    crawl completed, the crawler did not call the shop failed, and the shop did not suddenly lose
    most of its listings (``suspect``). A product page that failed with anything but 404/410 this run
    is not evidence either way, so its listing is left alone.

    Whether the shop was seen is read from the database (``last_run_id``), not from the crawler's
    counts, so listings confirmed unchanged by a 304 (``crawler.incremental``) count as seen.
    """
    gone_at = gone_at or utc_now()
    params = {"shop": shop, "run": crawl_run_id}
    outcome = ShopOutcome(
        "ok",
        seen=_count(db, SEEN_SQL, params),
        listed_before=_count(db, LISTED_BEFORE_SQL, params),
        errors=_count(db, ERRORS_SQL, params),
    )
    summary = crawler_summary or {}
    outcome.status, outcome.reason = shop_answer_status(
        ShopAnswer(
            crawl_completed=crawl_completed,
            seen=outcome.seen,
            listed_before=outcome.listed_before,
            errors=outcome.errors,
            crawler_status=summary.get("status"),
            finish_reason=summary.get("finish_reason"),
            limits=summary.get("limits") or [],
            not_stored=_count(db, PIPELINE_ERRORS_SQL, params),
            failed_catalogue_pages=_count(db, FAILED_CATALOGUE_PAGES_SQL, params),
        )
    )
    with transaction(db):
        outcome.back = db.execute(MARK_BACK_SQL, params).rowcount
        if outcome.status == "ok":
            outcome.gone = db.execute(MARK_GONE_SQL, {**params, "gone_at": gone_at}).rowcount
    return outcome


def _count(db: sqlite_utils.Database, sql: str, params: dict) -> int:
    return db.execute(sql, params).fetchone()[0]


def change_counts(db: sqlite_utils.Database, crawl_run_id: int) -> dict[str, int]:
    """What a crawl run changed: new listings, price changes, reformulations."""
    queries = {
        "new": "SELECT count(*) FROM listing_events WHERE run_id = ? AND event = 'appeared'",
        "prices": """SELECT count(*) FROM variant_changes
                     WHERE run_id = ? AND change = 'changed' AND old_price IS NOT new_price""",
        "reformulated": "SELECT count(*) FROM ingredient_changes WHERE run_id = ? AND kind = 'changed'",
    }
    return {k: db.execute(q, [crawl_run_id]).fetchone()[0] for k, q in queries.items()}
