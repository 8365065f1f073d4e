"""Store listings and their variants: upsert on the stable id, in short batched transactions.

``first_seen`` is kept from the first crawl that saw a listing; ``last_seen``/``last_run_id`` move on.
Nothing is deleted. A listing whose page had broken structured data (``_degraded``) and that an earlier
crawl stored keeps its stored fields: this fetch only counts as having seen it.

Variants the crawl no longer finds for a listing get ``gone_since`` (cleared when they come back). A
listing whose spider could not read some fields because a secondary request failed names them in
``_unread``: listing columns keep their stored values, ``"variants"`` keeps the stored variants (the
ones read are updated, none is marked gone, none invented is added) and ``"currency"`` keeps each
variant's stored currency.
"""

from __future__ import annotations

import time
from typing import Any

from crawler.extract.listing import utc_now
from crawler.storage import save_shop, shared_db
from evaluator.text import MAX_FIELD_CHARS
from serumscope.store.database import transaction
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
        rows, variant_rows, touched, complete = [], [], [], {}
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
            for listing_id in touched:
                self.db["listings"].update(
                    listing_id, {"last_seen": now, "last_run_id": self.run_id}
                )
        self.stored += len(rows)
        self.count("serumscope/listings_stored", len(rows))

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
            self.count(f"serumscope/fields_invalid/{column}", 1)
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
