"""Store listings and their variants: upsert on the stable id, in short batched transactions.

``first_seen`` is kept from the first crawl that saw a listing; ``last_seen``/``last_run_id`` move on.
Nothing is deleted. A listing whose page had broken structured data (``_degraded``) and that an earlier
crawl stored keeps its stored fields: this fetch only counts as having seen it.

Variants the crawl no longer finds for a listing get ``gone_since`` (cleared when they come back). A
listing whose spider could not read some fields because a secondary request failed names them in
``_unread``: listing columns keep their stored values, ``"variants"`` keeps the stored variants (the
ones read are updated, none is marked gone, none invented is added) and ``"currency"`` keeps each
variant's stored currency.

A listing read in full carries its product's change signal in ``_source`` (crawler/unchanged.py); it
is stored in ``product_sources`` with the listing, so the next crawl can skip the product while the
shop says it is unchanged. A listing read in part (``_unread``) or degraded stores none: its product
is read again next time.
"""

from __future__ import annotations

import time
from typing import Any

from crawler.extract.listing import utc_now
from crawler.storage import save_shop, shared_db
from evaluator.text import MAX_FIELD_CHARS
from serumscope.store.database import transaction
from serumscope.store.freshness import save_product_sources
from serumscope.store.rows import storable_json, storable_row
from serumscope.store.tables import LISTING_JSON_COLUMNS, TABLES

# The listings columns a crawl writes (serumscope/store/tables.py declares them); the rest are kept by the store.
LISTING_COLUMNS = tuple(
    c
    for c in TABLES["listings"].columns
    if c not in ("first_seen", "last_seen", "last_run_id", "gone_since")
)
VARIANT_COLUMNS = frozenset(TABLES["variants"].columns)
# Text longer than the evaluator reads (evaluator.text.MAX_FIELD_CHARS) is cut when stored: a shop's
# megabyte description would otherwise cost every reader of the site its memory.
MAX_TEXT_CHARS = MAX_FIELD_CHARS
FLUSH_SECONDS = 2.0


PRICE_COLUMNS = ("price", "regular_price")


def listing_row(item: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for column in LISTING_COLUMNS:
        value = item.get(column)
        if column in LISTING_JSON_COLUMNS:
            value = storable_json(value) if value else None
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
        now = utc_now()
        ids = [item["id"] for item in items]
        marks = ",".join("?" * len(ids))
        existing = {
            row["id"]: row
            for row in self.db.query(f"select * from listings where id in ({marks})", ids)
        }
        stored_variants: dict[str, dict[str, Any]] = {}
        for row in self.db.query(
            f"select id, listing_id, currency from variants where listing_id in ({marks})", ids
        ):
            stored_variants[row["id"]] = row
        rows, variant_rows, touched, complete, sources = [], [], [], {}, []
        for item in items:
            before = existing.get(item["id"])
            if before and item.get("_degraded"):
                touched.append(item["id"])
                continue
            unread = set(item.get("_unread") or ()) if before else set()
            row = self.storable(listing_row(item), max_text=MAX_TEXT_CHARS)
            for column in unread & set(LISTING_COLUMNS):
                row[column] = before[column]
            row["first_seen"] = before["first_seen"] if before and before.get("first_seen") else now
            row["last_seen"] = now
            row["last_run_id"] = self.run_id
            rows.append(row)
            if source := item.get("_source"):
                # Read in full, its change signal lets the next crawl skip it while unchanged; read
                # in part, the signal is forgotten, so the next crawl reads it again.
                partly = item.get("_unread") or item.get("_degraded")
                version = None if partly else source["version"]
                read_at = item.get("fetched_at") or now
                sources.append((item["shop"], source["key"], item["id"], version, read_at))
            variants = item.get("variants") or []
            if "variants" in unread:
                variants = [v for v in variants if v["id"] in stored_variants]
            elif (
                variants
            ):  # no variant at all is a page we misread more likely than a sold-out shop
                complete[item["id"]] = [v["id"] for v in variants]
            for variant in variants:
                variant_row = {
                    **{k: v for k, v in variant.items() if k in VARIANT_COLUMNS},
                    "last_seen": now,
                    "gone_since": None,
                }
                if "currency" in unread and not variant_row.get("currency"):
                    variant_row["currency"] = (stored_variants.get(variant["id"]) or {}).get(
                        "currency"
                    )
                variant_rows.append(self.storable(variant_row, PRICE_COLUMNS))
        with transaction(self.db):
            self.db["listings"].upsert_all(rows, pk="id")
            if variant_rows:
                self.db["variants"].upsert_all(variant_rows, pk="id")
            for listing_id, seen in complete.items():
                self.mark_gone_variants(listing_id, seen, now)
            save_product_sources(self.db, sources)
            for listing_id in touched:
                self.db["listings"].update(
                    listing_id, {"last_seen": now, "last_run_id": self.run_id}
                )
        self.stored += len(rows)
        self.crawler.stats.inc_value("serumscope/listings_stored", len(rows))

    def storable(
        self, row: dict[str, Any], number_columns: tuple[str, ...] = (), max_text: int | None = None
    ) -> dict:
        """The row through the store boundary (serumscope.store.rows.storable_row); what it had to
        change (or cut at ``max_text`` characters) is counted as an invalid field, whichever spider
        built the item."""
        clean, invalid = storable_row(row, number_columns)
        if max_text is not None:
            for column, value in clean.items():
                if (
                    isinstance(value, str)
                    and len(value) > max_text
                    and column not in LISTING_JSON_COLUMNS
                ):
                    clean[column] = value[:max_text]
                    invalid.append(column)
        for column in invalid:
            self.crawler.stats.inc_value(f"serumscope/fields_invalid/{column}")
        return clean

    def mark_gone_variants(self, listing_id: str, seen: list[str], now: str) -> None:
        """``gone_since`` for the listing's stored variants this crawl did not return."""
        marks = ",".join("?" * len(seen))
        not_seen = f"and id not in ({marks})" if seen else ""
        self.db.execute(
            f"update variants set gone_since = ? where listing_id = ? and gone_since is null"
            f" {not_seen}",
            [now, listing_id, *seen],
        )
