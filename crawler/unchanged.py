"""Skipping products the shop says did not change since we last read them in full.

Each platform names a product's change signal (its ``version``): a sitemap's ``<lastmod>``, Shopify's
``updated_at`` (of the product and of each variant, with the variants' availability), a hash of the
WooCommerce Store API's product object (which has no modified date). A product whose version is the
one stored when it was last read in full (``product_sources``, serumscope/store/freshness.py) is not
read again: no page request, no variation requests, no parsing, no pipelines, no re-evaluation. Its
listing is marked seen by this run (``last_seen``, ``last_run_id``), so reconciling never takes it
for gone; a product the shop no longer lists is not met at all and is marked gone as before.

A ``<lastmod>`` comes from another document than the page, so it is trusted only once it is settled:
the latest moment it can stand for (a date alone: the end of that day in the last time zone) lies
``SETTLE_SECONDS`` before the page was read. Otherwise a page served stale by a cache, or changed
again the same day, would be kept until the next full crawl.

Shops can lie (a price changed without a new ``updated_at``), and a new serumscope may read pages
better: every ``SERUMSCOPE_FULL_CRAWL_DAYS`` (default 7) a shop is crawled in full, nothing skipped,
and ``SERUMSCOPE_FULL_CRAWL`` (``serumscope crawl --full``) forces one. Conditional requests
(crawler/incremental.py) still apply to the pages that are fetched. ``SERUMSCOPE_SKIP_UNCHANGED =
False`` turns skipping off (a crawl that stores nothing, such as a look at one product, must read it).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.recrawl import FULL, SKIP, full_crawl_completed, recrawl_for
from serumscope.store.freshness import KnownProduct

SETTLE_SECONDS = 600
# A date or time without a zone may be anybody's: its latest reading is in UTC-12.
LATEST_ZONE = timedelta(hours=12)
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
UNCHANGED_STAT = "incremental/unchanged"


def latest_moment(stamp: str | None) -> datetime | None:
    """The latest UTC instant a W3C date or date-time (a sitemap ``<lastmod>``) can stand for; None
    when it is no date."""
    text = (stamp or "").strip()
    try:
        if DATE_ONLY.fullmatch(text):
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day + timedelta(days=1) + LATEST_ZONE
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC) + LATEST_ZONE
    return moment.astimezone(UTC)


def content_version(data: Any) -> str:
    """A version for a product object that carries no modified date: the hash of its JSON."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class UnchangedProducts:
    """One shop's known products for one crawl, the skips it decided, and the seen marks to record
    (through the crawler's recrawl source, crawler/recrawl.py: the store, or a worker's stream)."""

    def __init__(self, crawler, shop: str):
        self.crawler = crawler
        self.shop = shop
        self.run_id = getattr(crawler, "serumscope_run_id", None)
        self.pending_seen: list[str] = []
        self.known: dict[str, KnownProduct] = {}
        # Skipping needs what was stored and a run to mark listings seen by; a crawl that stores
        # nothing (SERUMSCOPE_SKIP_UNCHANGED off, e.g. to look at one product) reads everything.
        self.recrawl = recrawl_for(crawler)
        self.plan = self.recrawl.plan(shop) if self.recrawl is not None else None
        if self.plan == SKIP and self.run_id is not None:
            self.known = self.recrawl.known_products(shop)

    def skip(self, key: str, version: str | None, dated: bool = False) -> bool:
        """True when the product ``key`` is unchanged since it was last read in full (its
        ``version`` is the stored one): its listing is then counted as seen by this run. A ``dated``
        version (a sitemap ``lastmod``) must also be settled before that read."""
        known = self.known.get(key)
        if known is None or version is None or known.version != version:
            return False
        if dated:
            moment, read_at = latest_moment(version), latest_moment(known.read_at)
            if moment is None or read_at is None:
                return False
            if moment + timedelta(seconds=SETTLE_SECONDS) > read_at:
                return False
        self.crawler.stats.inc_value(UNCHANGED_STAT)
        self.pending_seen.append(known.listing_id)
        if len(self.pending_seen) >= self.recrawl.batch:
            self.flush()
        return True

    def flush(self) -> None:
        seen, self.pending_seen = self.pending_seen, []
        if seen and self.run_id is not None:
            self.recrawl.record(self.run_id, self.shop, seen, [], {})

    def close(self, summary: dict[str, Any]) -> None:
        """Record what is pending; a full crawl that completed (``summary``:
        crawler.summary.shop_summary) is remembered as the shop's last."""
        if self.recrawl is None:
            return
        self.flush()
        if self.plan == FULL and full_crawl_completed(summary):
            self.recrawl.record_full_crawl(self.shop)
