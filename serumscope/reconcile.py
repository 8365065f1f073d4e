"""Reconciling a shop after a crawl: which of its listings are gone, which are back, and whether its
answer can be trusted to say so.

A listing the crawl saw again loses its ``gone_since``. A listing the crawl did not see gets
``gone_since`` only when the shop's answer was sound (status ``ok``). Otherwise the shop is:

``failed``
    the crawl did not complete, the shop ended early, or nothing was stored and there were errors;
``suspect``
    it suddenly lost most of its listings (a broken template or an emptied feed looks exactly like a
    shop that sold out everything);
``partial``
    the crawl stopped at one of its limits (pages, listings, time, sitemaps per index), listings
    could not be stored (an item pipeline failed), or pages that list products (feeds, sitemaps)
    failed, hiding an unknown set of products.

Those shops keep their listings as they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from serumscope.clock import utc_now
from serumscope.store.database import transaction
from serumscope.store.tables import SOFT_ERROR_KINDS

# A shop whose run sees fewer than this share of the listings it had is not trusted to mark the rest
# gone: a broken page template or an emptied feed looks exactly like a shop that sold out everything.
SUSPECT_SHARE = 0.5
# ...but only from this many listings up: in a tiny shop, losing half is ordinary.
SUSPECT_MIN_LISTINGS = 4
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
    outcome.status, outcome.reason = _judge_answer(
        db, outcome, params, crawl_completed, crawler_summary or {}
    )
    with transaction(db):
        outcome.back = db.execute(MARK_BACK_SQL, params).rowcount
        if outcome.status == "ok":
            outcome.gone = db.execute(MARK_GONE_SQL, {**params, "gone_at": gone_at}).rowcount
    return outcome


def _judge_answer(
    db: sqlite_utils.Database,
    outcome: ShopOutcome,
    params: dict,
    crawl_completed: bool,
    crawler_summary: dict,
) -> tuple[str, str]:
    """The shop's status and the reason for it, the first sign of an unsound answer deciding."""
    seen, listed_before, errors = outcome.seen, outcome.listed_before, outcome.errors
    if not crawl_completed:
        return "failed", "the crawl did not complete"
    if seen == 0 and listed_before > 0:
        return "suspect", f"found nothing where it had {listed_before} listings"
    if listed_before >= SUSPECT_MIN_LISTINGS and seen < listed_before * SUSPECT_SHARE:
        return "suspect", f"found {seen} of its {listed_before} listings"
    if seen == 0 and (errors or crawler_summary.get("status") == "failed"):
        return "failed", f"nothing stored, {errors} errors"
    finish_reason = crawler_summary.get("finish_reason")
    if limits := crawler_summary.get("limits"):  # crawler/settings.py: pages, listings, time...
        return "partial", "; ".join(limits)
    if finish_reason not in (None, "", "finished"):
        return "failed", f"the shop's crawl ended early ({finish_reason})"
    if not_stored := _count(db, PIPELINE_ERRORS_SQL, params):
        return "partial", f"{not_stored} listings could not be stored (an item pipeline failed)"
    # A feed page or sitemap that failed hides an unknown set of products.
    if failed_catalogue_pages := _count(db, FAILED_CATALOGUE_PAGES_SQL, params):
        return (
            "partial",
            f"{failed_catalogue_pages} failed pages that list products (feeds, sitemaps)",
        )
    return "ok", ""


def _count(db: sqlite_utils.Database, sql: str, params: dict) -> int:
    return db.execute(sql, params).fetchone()[0]
