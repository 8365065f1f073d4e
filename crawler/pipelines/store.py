"""Store crawled listings in short batches through the store's listing writer
(serumscope/store/listings.py, which says what is kept and what moves on); an item the batch cannot
write is written on its own, and one that still fails is recorded, never lost silently.
"""

from __future__ import annotations

import time
from typing import Any

from crawler.storage import save_shop, shared_db
from serumscope.store.listings import store_listings

FLUSH_SECONDS = 2.0


class StorePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("SERUMSCOPE_STORE_BATCH", 200)
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.stored = 0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.db = shared_db(self.crawler.settings["SERUMSCOPE_DB"])
        save_shop(self.db, self.crawler.spider.shop_config)

    @property
    def run_id(self) -> int | None:
        return getattr(self.crawler, "serumscope_run_id", None)

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
        """Write the pending items in one transaction; when that fails, each item on its own, so one
        unwritable item costs only itself, and is recorded (crawl_errors kind "pipeline", which makes
        the shop partial: a listing that could not be stored is never marked gone)."""
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        items, self.pending = self.pending, []
        try:
            self.write(items)
            return
        except Exception:  # noqa: BLE001 - any failure: fall back to one item at a time below
            if len(items) == 1:
                self.record_unstored(items[0])
                return
        for item in items:
            try:
                self.write([item])
            except Exception:  # noqa: BLE001
                self.record_unstored(item)

    def record_unstored(self, item: dict[str, Any]) -> None:
        import sys

        error = sys.exc_info()[1]
        self.crawler.spider.record_error(
            item.get("url") or str(item.get("id") or ""),
            "pipeline",
            f"could not store {item.get('id')}: {type(error).__name__}: {str(error)[:300]}",
        )

    def write(self, items: list[dict[str, Any]]) -> None:
        batch = store_listings(self.db, items, self.run_id)
        for column in batch.invalid:
            self.crawler.stats.inc_value(f"serumscope/fields_invalid/{column}")
        self.stored += batch.stored
        self.crawler.stats.inc_value("serumscope/listings_stored", batch.stored)
