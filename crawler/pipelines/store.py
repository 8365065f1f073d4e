"""Store crawled listings in short batches through the store's listing writer
(serumscope/store/listings.py says what is kept and what moves on); an item a batch cannot write is
written on its own, and one that still fails is recorded, never lost silently.
"""

from __future__ import annotations

import time
from typing import Any

from crawler.storage import save_shop, shared_db
from serumscope.store.listings import store_listings

FLUSH_SECONDS = 2.0


class ListingWriter:
    """Writes batches of listings into the store for one crawl run: the local crawl's StorePipeline
    and the distributed crawl's ingest (crawler/ingest.py) both write through it.

    ``count(name, n)`` adds to a crawl statistic; ``record_unstored(item, error)`` records a listing
    that could not be stored."""

    def __init__(self, db, run_id, count, record_unstored):
        self.db = db
        self.run_id = run_id
        self.count = count
        self.record_unstored = record_unstored
        self.stored = 0

    def write_each(self, items: list[dict[str, Any]]) -> None:
        """Write the items in one transaction; when that fails, each item on its own, so one
        unwritable item costs only itself, and is recorded (crawl_errors kind "pipeline", which makes
        the shop partial: a listing that could not be stored is never marked gone)."""
        if not items:
            return
        try:
            self.write(items)
            return
        except Exception as error:  # noqa: BLE001 - any failure: fall back to one item at a time below
            if len(items) == 1:
                self.record_unstored(items[0], error)
                return
        for item in items:
            try:
                self.write([item])
            except Exception as error:  # noqa: BLE001
                self.record_unstored(item, error)

    def write(self, items: list[dict[str, Any]]) -> None:
        batch = store_listings(self.db, items, self.run_id)
        for column in batch.invalid:
            self.count(f"serumscope/fields_invalid/{column}", 1)
        self.stored += batch.stored
        self.count("serumscope/listings_stored", batch.stored)


class StorePipeline:
    """The local crawl's last pipeline: listings in batches (``SERUMSCOPE_STORE_BATCH``, or every
    ``FLUSH_SECONDS``) through ListingWriter."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("SERUMSCOPE_STORE_BATCH", 200)
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.writer: ListingWriter | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        db = shared_db(self.crawler.settings["SERUMSCOPE_DB"])
        save_shop(db, self.crawler.spider.shop_config)
        self.writer = ListingWriter(db, self.run_id, self.crawler.stats.inc_value, self.unstored)

    @property
    def run_id(self) -> int | None:
        return getattr(self.crawler, "serumscope_run_id", None)

    @property
    def stored(self) -> int:
        return self.writer.stored if self.writer else 0

    def process_item(self, item):
        self.pending.append(item)
        if (
            len(self.pending) >= self.batch_size
            or time.monotonic() - self.last_flush > FLUSH_SECONDS
        ):
            self.flush()
        return item

    def close_spider(self):
        self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        items, self.pending = self.pending, []
        self.writer.run_id = self.run_id
        self.writer.write_each(items)

    def unstored(self, item: dict[str, Any], error: BaseException) -> None:
        self.crawler.spider.record_error(*unstored_error(item, error))


def unstored_error(item: dict[str, Any], error: BaseException) -> tuple[str, str, str]:
    """(url, kind, message) of the crawl error for a listing that could not be stored."""
    return (
        item.get("url") or str(item.get("id") or ""),
        "pipeline",
        f"could not store {item.get('id')}: {type(error).__name__}: {str(error)[:300]}",
    )
