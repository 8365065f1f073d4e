"""A shop's figures from its crawl statistics, as ``crawl`` returns them and the run row stores them
(without Scrapy: the ingest of a distributed crawl needs them too)."""

from __future__ import annotations

from typing import Any

from serumscope.store.status import crawler_shop_status
from serumscope.store.tables import SOFT_ERROR_KINDS

LIMITS_STAT = "serumscope/limits"


def _counts(stats: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The stats under ``prefix``, keyed by the rest of their name."""
    return {k.removeprefix(prefix): v for k, v in stats.items() if k.startswith(prefix)}


def shop_summary(stats: dict[str, Any]) -> dict[str, Any]:
    """Per-shop figures from one crawler's stats (also what ``crawl`` returns per shop)."""
    errors = {
        key.removeprefix("serumscope/errors/"): value
        for key, value in stats.items()
        if key.startswith("serumscope/errors/")
    }
    # Soft kinds (robots.txt forbids, junk or off-site URLs) are recorded in crawl_errors and shown
    # as skipped pages, but are no errors: they neither count in "errors" nor make a shop "partial".
    skipped = {k: v for k, v in errors.items() if k in SOFT_ERROR_KINDS}
    hard = {k: v for k, v in errors.items() if k not in SOFT_ERROR_KINDS}
    hard_errors = sum(hard.values())
    listings = stats.get("serumscope/listings_stored", 0)
    # Product pages answered "304 Not Modified" (crawler.incremental) and products the shop says did
    # not change (crawler.unchanged) were seen, just not re-stored.
    not_modified = stats.get("incremental/not_modified", 0)
    unchanged = stats.get("incremental/unchanged", 0)
    finish_reason = stats.get("finish_reason", "")
    status = crawler_shop_status(
        seen=listings + not_modified + unchanged,
        errors=sum(errors.values()),
        hard_errors=hard_errors,
        finish_reason=finish_reason,
    )
    return {
        "status": status,
        "listings": listings,
        "not_modified": not_modified,
        "unchanged": unchanged,
        "candidates": stats.get("serumscope/candidates", 0),
        "relevance": _counts(stats, "serumscope/relevance/"),
        "kinds": _counts(stats, "serumscope/kinds/"),
        "size_from": _counts(stats, "serumscope/size_from/"),
        "errors": hard_errors,
        "hard_errors": hard_errors,
        "errors_by_kind": hard,
        "skipped_by_kind": skipped,
        "fields_missing": _counts(stats, "serumscope/fields_missing/"),
        "fields_invalid": _counts(stats, "serumscope/fields_invalid/"),
        "limits": list(stats.get(LIMITS_STAT) or []),
        "pages": stats.get("response_received_count", 0),
        "elapsed_seconds": stats.get("elapsed_time_seconds"),
        "finish_reason": finish_reason,
    }
