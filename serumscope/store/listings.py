"""The writer of crawled listings: upsert on the stable id, in one transaction per batch.

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

from collections import defaultdict
from typing import Any, NamedTuple

import sqlite_utils

from evaluator.listing import SIGHTING_COLUMNS
from evaluator.text import MAX_FIELD_CHARS
from serumscope.store.clock import utc_now
from serumscope.store.database import transaction
from serumscope.store.freshness import save_product_sources
from serumscope.store.rows import (
    is_finite_number,
    plain_values_kept,
    storable_json,
    storable_row,
)
from serumscope.store.tables import LISTING_JSON_COLUMNS, PRODUCT_LINK_COLUMNS, TABLES

# The listings columns a crawl writes; the sightings (first/last seen, gone) are kept by this writer,
# the product a listing sells by store/products.py.
LISTING_COLUMNS = tuple(
    c for c in TABLES["listings"].columns if c not in {**SIGHTING_COLUMNS, **PRODUCT_LINK_COLUMNS}
)
VARIANT_COLUMNS = frozenset(TABLES["variants"].columns)
# Text longer than the evaluator reads (evaluator.text.MAX_FIELD_CHARS) is cut when stored: a shop's
# megabyte description would otherwise cost every reader of the site its memory.
MAX_TEXT_CHARS = MAX_FIELD_CHARS
PRICE_COLUMNS = ("price", "regular_price")


class StoredBatch(NamedTuple):
    stored: int  # listings written (degraded pages of stored listings only count as seen)
    invalid: list[str]  # a column name per value the store boundary had to change or cut


def listing_row(item: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for column in LISTING_COLUMNS:
        value = item.get(column)
        if column in LISTING_JSON_COLUMNS:
            value = storable_json(value) if value else None
        row[column] = value
    return row


def _storable(
    row: dict[str, Any],
    invalid: list[str],
    number_columns: tuple[str, ...] = (),
    max_text: int | None = None,
) -> dict:
    """The row through the store boundary (store/rows.py); what it had to change (or cut at
    ``max_text`` characters) is added to ``invalid``, whichever spider built the item."""
    if plain_values_kept(list(row.values())) and all(
        row.get(column) is None or is_finite_number(row[column]) for column in number_columns
    ):
        clean, changed = dict(row), []  # nearly every row: nothing to change, judged at once
    else:
        clean, changed = storable_row(row, number_columns)
    if max_text is not None:
        for column, value in clean.items():
            if (
                isinstance(value, str)
                and len(value) > max_text
                and column not in LISTING_JSON_COLUMNS
            ):
                clean[column] = value[:max_text]
                changed.append(column)
    invalid.extend(changed)
    return clean


def _mark_gone_variants(
    db: sqlite_utils.Database, listing_id: str, seen: list[str], now: str
) -> None:
    """``gone_since`` for the listing's stored variants this crawl did not return."""
    marks = ",".join("?" * len(seen))
    not_seen = f"and id not in ({marks})" if seen else ""
    db.execute(
        f"update variants set gone_since = ? where listing_id = ? and gone_since is null"
        f" {not_seen}",
        [now, listing_id, *seen],
    )


def store_listings(
    db: sqlite_utils.Database, items: list[dict[str, Any]], run_id: int | None
) -> StoredBatch:
    """Write crawled listing dicts (docs/schema.md, with the crawler's ``_degraded``, ``_unread`` and
    ``_source`` marks) and their variants in one transaction."""
    now = utc_now()
    ids = [item["id"] for item in items]
    marks = ",".join("?" * len(ids))
    existing = {
        row["id"]: row for row in db.query(f"select * from listings where id in ({marks})", ids)
    }
    stored_variants: dict[str, dict[str, Any]] = {}
    for row in db.query(
        f"select id, listing_id, currency from variants where listing_id in ({marks})", ids
    ):
        stored_variants[row["id"]] = row
    rows, variant_rows, touched, complete, sources = [], [], [], {}, []
    invalid: list[str] = []
    for item in items:
        before = existing.get(item["id"])
        if before and item.get("_degraded"):
            touched.append(item["id"])
            continue
        unread = set(item.get("_unread") or ()) if before else set()
        row = _storable(listing_row(item), invalid, max_text=MAX_TEXT_CHARS)
        for column in unread & set(LISTING_COLUMNS):
            row[column] = before[column]
        row["first_seen"] = before["first_seen"] if before and before.get("first_seen") else now
        row["last_seen"] = now
        row["last_run_id"] = run_id
        rows.append(row)
        if source := item.get("_source"):
            # Read in full, its change signal lets the next crawl skip it while unchanged; read in
            # part, the signal is forgotten, so the next crawl reads it again.
            partly = item.get("_unread") or item.get("_degraded")
            version = None if partly else source["version"]
            read_at = item.get("fetched_at") or now
            sources.append((item["shop"], source["key"], item["id"], version, read_at))
        variants = item.get("variants") or []
        if "variants" in unread:
            variants = [v for v in variants if v["id"] in stored_variants]
        elif variants:  # no variant at all is a page we misread more likely than a sold-out shop
            complete[item["id"]] = [v["id"] for v in variants]
        for variant in variants:
            variant_row = {
                **{k: v for k, v in variant.items() if k in VARIANT_COLUMNS},
                "last_seen": now,
                "gone_since": None,
            }
            if "currency" in unread and not variant_row.get("currency"):
                variant_row["currency"] = (stored_variants.get(variant["id"]) or {}).get("currency")
            variant_rows.append(_storable(variant_row, invalid, PRICE_COLUMNS))
    # The variants each listing may hold once the batch is written (those stored, those written):
    # only a listing that may hold one it did not return has any to mark gone (a first crawl none).
    held: dict[str, set[str]] = defaultdict(set)
    for row in (*stored_variants.values(), *variant_rows):
        held[row.get("listing_id")].add(row["id"])
    with transaction(db):
        db["listings"].upsert_all(rows, pk="id")
        if variant_rows:
            db["variants"].upsert_all(variant_rows, pk="id")
        for listing_id, seen in complete.items():
            if not held[listing_id].issubset(seen):
                _mark_gone_variants(db, listing_id, seen, now)
        save_product_sources(db, sources)
        for listing_id in touched:
            db["listings"].update(listing_id, {"last_seen": now, "last_run_id": run_id})
    return StoredBatch(len(rows), invalid)
