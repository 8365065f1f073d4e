"""Store listings and their variants: upsert on the stable id, in short batched transactions.

``first_seen`` is kept from the first crawl that saw a listing; ``last_seen``/``last_run_id`` move on.
Nothing is deleted. A listing whose page had broken structured data (``_degraded``) and that an earlier
crawl stored keeps its stored fields: this fetch only counts as having seen it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from crawler.extract.listing import utc_now
from crawler.storage import save_shop, shared_db

JSON_COLUMNS = ("image_alts", "tags", "categories", "provenance")
LISTING_COLUMNS = (
    "id", "shop", "platform", "url", "canonical_id", "title", "brand", "description",
    "description_html", "ingredients_text", "image_alts", "tags", "categories", "provenance",
    "is_candidate", "relevance_reason", "fetched_at", "input_hash",
)  # fmt: skip
FLUSH_SECONDS = 2.0


def listing_row(item: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for column in LISTING_COLUMNS:
        value = item.get(column)
        if column in JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False) if value else None
        row[column] = value
    return row


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
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        items, self.pending = self.pending, []
        now = utc_now()
        ids = [item["id"] for item in items]
        marks = ",".join("?" * len(ids))
        existing = {
            row["id"]: row
            for row in self.db.query(f"select * from listings where id in ({marks})", ids)
        }
        rows, variant_rows, touched = [], [], []
        for item in items:
            before = existing.get(item["id"])
            if before and item.get("_degraded"):
                touched.append(item["id"])
                continue
            row = listing_row(item)
            row["first_seen"] = before["first_seen"] if before and before.get("first_seen") else now
            row["last_seen"] = now
            row["last_run_id"] = self.run_id
            rows.append(row)
            for variant in item.get("variants") or []:
                variant_rows.append({**variant, "last_seen": now})
        with self.db.atomic():
            self.db["listings"].upsert_all(rows, pk="id")
            if variant_rows:
                self.db["variants"].upsert_all(variant_rows, pk="id")
            for listing_id in touched:
                self.db["listings"].update(
                    listing_id, {"last_seen": now, "last_run_id": self.run_id}
                )
        self.stored += len(rows)
        self.crawler.stats.inc_value("serumscope/listings_stored", len(rows))
