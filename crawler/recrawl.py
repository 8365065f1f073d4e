"""What a re-crawl knows of the crawls before it, and what it records for the next one.

It knows each product page's validators (ETag / Last-Modified, for conditional requests:
crawler/incremental.py), each shop's products read in full with their change signals, and whether
this crawl of the shop is a full one (crawler/unchanged.py). It records listings confirmed unchanged
("seen" by this run), product change signals confirmed by a 304, page validators, and a shop's
completed full crawl.

A local crawl reads and writes the store: ``StoreRecrawl``. A distributed crawl's workers have no
store: they read what the ``crawl --redis`` process published when it seeded the run and send what
they record through the run's stream to the ingest, which stores it with the same store code
(crawler/distributed_recrawl.py). The setting ``SERUMSCOPE_RECRAWL`` names the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler import settings as project_settings
from crawler.extract.listing import utc_now
from crawler.storage import shared_db
from serumscope.store.freshness import (
    KnownProduct,
    known_products,
    last_full_crawl,
    page_validators,
    record_full_crawl,
    store_recrawl_marks,
)

# How a crawl reads a shop: FULL reads every product (and is remembered once it completes), SKIP
# skips the products the shop says did not change; no plan (None) reads every product and remembers
# nothing (SERUMSCOPE_SKIP_UNCHANGED off: a crawl that stores nothing).
FULL, SKIP = "full", "skip"
# A product page's validators: (etag, last_modified, listing_id).
Validators = tuple[str | None, str | None, str]


@dataclass(frozen=True)
class PlanSettings:
    """The settings a shop's re-crawl plan reads."""

    skip_unchanged: bool  # SERUMSCOPE_SKIP_UNCHANGED
    full: bool  # SERUMSCOPE_FULL_CRAWL (--full)
    full_every_days: float  # SERUMSCOPE_FULL_CRAWL_DAYS

    @classmethod
    def from_scrapy(cls, settings) -> PlanSettings:
        return cls(
            settings.getbool("SERUMSCOPE_SKIP_UNCHANGED", True),
            settings.getbool("SERUMSCOPE_FULL_CRAWL"),
            settings.getfloat("SERUMSCOPE_FULL_CRAWL_DAYS", 7.0),
        )

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any]) -> PlanSettings:
        """The project's settings (crawler/settings.py) under a run's overrides (``-s`` values, parsed
        as JSON when they can be; ``--full``), read as Scrapy reads them, without importing Scrapy:
        the ``crawl --redis`` process publishes the plans (crawler/distributed_recrawl.py)."""

        def value(name: str) -> Any:
            return overrides.get(name, getattr(project_settings, name))

        def flag(name: str) -> bool:  # Scrapy's getbool: True/False, 1/0, or their text
            return str(value(name)).lower() in ("1", "true")

        return cls(
            flag("SERUMSCOPE_SKIP_UNCHANGED"),
            flag("SERUMSCOPE_FULL_CRAWL"),
            float(value("SERUMSCOPE_FULL_CRAWL_DAYS")),
        )


def full_crawl_due(db: sqlite_utils.Database, shop: str, settings: PlanSettings) -> bool:
    if settings.full:
        return True
    last = last_full_crawl(db, shop)
    every = timedelta(days=settings.full_every_days)
    if not last or every <= timedelta(0):
        return True
    return datetime.fromisoformat(last.replace("Z", "+00:00")) + every <= datetime.now(UTC)


def recrawl_plan(db: sqlite_utils.Database, shop: str, settings: PlanSettings) -> str | None:
    """FULL, SKIP or None for this crawl of ``shop``."""
    if not settings.skip_unchanged:
        return None
    return FULL if full_crawl_due(db, shop, settings) else SKIP


def full_crawl_completed(summary: dict[str, Any]) -> bool:
    """A full crawl that ran to its end and read the shop (``summary``:
    crawler.summary.shop_summary) is remembered as the shop's last."""
    ended = summary["finish_reason"] == "finished" and not summary["limits"]
    return ended and summary["status"] != "failed"


class StoreRecrawl:
    """A local crawl's: read from and written to the store."""

    batch = 500  # marks kept before they are written

    def __init__(self, db: sqlite_utils.Database, settings):
        self.db = db
        self.settings = PlanSettings.from_scrapy(settings)

    @classmethod
    def from_crawler(cls, crawler) -> StoreRecrawl | None:
        path = crawler.settings.get("SERUMSCOPE_DB")
        if not path or not Path(path).exists():
            return None  # nothing crawled before, nowhere to record
        return cls(shared_db(path), crawler.settings)

    def plan(self, shop: str) -> str | None:
        return recrawl_plan(self.db, shop, self.settings)

    def known_products(self, shop: str) -> dict[str, KnownProduct]:
        return known_products(self.db, shop)

    def validators(self, shop: str) -> dict[str, Validators]:
        return page_validators(self.db, shop)

    def record(
        self,
        run_id: int | None,
        shop: str,
        seen: list[str],
        sources: list[tuple[str, str, str, str | None, str]],
        validators: dict[str, Validators],
    ) -> None:
        store_recrawl_marks(self.db, run_id, seen, sources, validators, utc_now())

    def record_full_crawl(self, shop: str) -> None:
        record_full_crawl(self.db, shop, utc_now())


def recrawl_for(crawler):
    """The crawler's recrawl source (``SERUMSCOPE_RECRAWL``), made once per crawler; None when it
    has nothing (a first local crawl)."""
    if not hasattr(crawler, "serumscope_recrawl"):
        # Only crawlers call this: the crawl --redis and ingest processes import this module, not Scrapy.
        from scrapy.utils.misc import load_object

        recrawl_class = load_object(crawler.settings["SERUMSCOPE_RECRAWL"])
        crawler.serumscope_recrawl = recrawl_class.from_crawler(crawler)
    return crawler.serumscope_recrawl
