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
from pathlib import Path
from typing import Any

from crawler.extract.listing import utc_now
from crawler.storage import shared_db
from serumscope.store.freshness import (
    KnownProduct,
    known_products,
    last_full_crawl,
    mark_seen,
    record_full_crawl,
)

FLUSH_EVERY = 500
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
    """One shop's known products for one crawl, the skips it decided, and the seen marks to write."""

    def __init__(self, crawler, shop: str):
        self.crawler = crawler
        self.shop = shop
        self.run_id = getattr(crawler, "serumscope_run_id", None)
        self.pending_seen: list[str] = []
        self.known: dict[str, KnownProduct] = {}
        self.full = True
        self.db = None
        path = Path(crawler.settings["SERUMSCOPE_DB"])
        # Skipping needs stored listings and a run to mark them seen by; a crawl that stores
        # nothing (SERUMSCOPE_SKIP_UNCHANGED off, e.g. to look at one product) reads everything.
        if not crawler.settings.getbool("SERUMSCOPE_SKIP_UNCHANGED", True) or not path.exists():
            return
        self.db = shared_db(path)
        self.full = self.full_crawl_due(crawler.settings)
        if not self.full and self.run_id is not None:
            self.known = known_products(self.db, shop)

    def full_crawl_due(self, settings) -> bool:
        if settings.getbool("SERUMSCOPE_FULL_CRAWL"):
            return True
        last = last_full_crawl(self.db, self.shop)
        every = timedelta(days=settings.getfloat("SERUMSCOPE_FULL_CRAWL_DAYS", 7.0))
        if not last or every <= timedelta(0):
            return True
        return datetime.fromisoformat(last.replace("Z", "+00:00")) + every <= datetime.now(UTC)

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
        if len(self.pending_seen) >= FLUSH_EVERY:
            self.flush()
        return True

    def flush(self) -> None:
        seen, self.pending_seen = self.pending_seen, []
        if seen and self.run_id is not None:
            mark_seen(self.db, self.run_id, seen, utc_now())

    def close(self, summary: dict[str, Any]) -> None:
        """Write what is pending; a full crawl that ran to its end and read the shop is remembered
        as the shop's last (``summary``: crawler.summary.shop_summary)."""
        if self.db is None:
            return
        self.flush()
        ended = summary["finish_reason"] == "finished" and not summary["limits"]
        if self.full and ended and summary["status"] != "failed":
            record_full_crawl(self.db, self.shop, utc_now())
