"""What the crawler remembers about each product's last full read, so a re-crawl can skip products the
shop says did not change, and the writes that count a skipped (or ``304``) product as seen.

``product_sources`` has one row per product as the shop names it (``shop``, ``key``: a sitemap page
URL, a Shopify or Store API product id): the listing it gave, the shop's own change signal when it was
read (``version``: a sitemap ``<lastmod>``, Shopify's ``updated_at``s, a hash of the Store API's
product object) and when it was read (``read_at``). ``shops.full_crawl_at`` is when the shop was last
crawled without skipping anything. ``page_validators`` keeps the ETag / Last-Modified of product pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import sqlite_utils

from serumscope.store.database import transaction


class KnownProduct(NamedTuple):
    listing_id: str
    version: str | None
    read_at: str | None


def known_products(db: sqlite_utils.Database, shop: str) -> dict[str, KnownProduct]:
    """The shop's products read in full before whose listing is stored and not gone (a listing that
    is gone, or was never stored, is read in full when it shows up)."""
    rows = db.execute(
        """SELECT s.key, s.listing_id, s.version, s.read_at FROM product_sources s
           JOIN listings l ON l.id = s.listing_id
           WHERE s.shop = ? AND l.gone_since IS NULL""",
        [shop],
    ).fetchall()
    return {key: KnownProduct(listing, version, read_at) for key, listing, version, read_at in rows}


def save_product_sources(
    db: sqlite_utils.Database, rows: Iterable[tuple[str, str, str, str | None, str]]
) -> None:
    """Upsert ``(shop, key, listing_id, version, read_at)`` rows; the caller's transaction, if any,
    holds them (the store pipeline writes them with the listings they gave)."""
    db.conn.executemany(
        """INSERT INTO product_sources (shop, key, listing_id, version, read_at)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (shop, key) DO UPDATE SET listing_id = excluded.listing_id,
               version = excluded.version, read_at = excluded.read_at""",
        list(rows),
    )


def mark_seen(
    db: sqlite_utils.Database, run_id: int, listing_ids: Iterable[str], seen_at: str
) -> None:
    """Listings this crawl run confirmed unchanged without reading them again: seen now
    (``last_seen``, ``last_run_id``, so reconciling does not think them gone), with their variants
    that are not gone."""
    ids = list(listing_ids)
    with transaction(db):
        db.conn.executemany(
            "UPDATE listings SET last_seen = ?, last_run_id = ? WHERE id = ?",
            [(seen_at, run_id, listing) for listing in ids],
        )
        db.conn.executemany(
            "UPDATE variants SET last_seen = ? WHERE listing_id = ? AND gone_since IS NULL",
            [(seen_at, listing) for listing in ids],
        )


def page_validators(
    db: sqlite_utils.Database, shop: str
) -> dict[str, tuple[str | None, str | None, str]]:
    """``{url: (etag, last_modified, listing_id)}`` of the shop's product pages whose listing is
    stored."""
    rows = db.execute(
        """SELECT v.url, v.etag, v.last_modified, v.listing_id FROM page_validators v
           JOIN listings l ON l.id = v.listing_id WHERE l.shop = ?""",
        [shop],
    ).fetchall()
    return {url: (etag, modified, listing) for url, etag, modified, listing in rows}


def save_page_validators(
    db: sqlite_utils.Database,
    validators: dict[str, tuple[str | None, str | None, str]],
    stored_at: str,
) -> None:
    with transaction(db):
        db.conn.executemany(
            """INSERT INTO page_validators (url, etag, last_modified, listing_id, stored_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                   last_modified = excluded.last_modified,
                   listing_id = excluded.listing_id,
                   stored_at = excluded.stored_at""",
            [
                (url, etag, modified, listing, stored_at)
                for url, (etag, modified, listing) in validators.items()
            ],
        )


def last_full_crawl(db: sqlite_utils.Database, shop: str) -> str | None:
    row = db.execute("SELECT full_crawl_at FROM shops WHERE name = ?", [shop]).fetchone()
    return row[0] if row else None


def record_full_crawl(db: sqlite_utils.Database, shop: str, finished_at: str) -> None:
    with transaction(db):
        db.execute("UPDATE shops SET full_crawl_at = ? WHERE name = ?", [finished_at, shop])


def store_recrawl_marks(
    db: sqlite_utils.Database,
    run_id: int | None,
    seen: list[str],
    sources: list[tuple[str, str, str, str | None, str]],
    validators: dict[str, tuple[str | None, str | None, str]],
    now: str,
) -> None:
    """What a re-crawl records as it goes, in one transaction: listings it confirmed unchanged (seen
    by run ``run_id``), product change signals a 304 confirmed (``(shop, key, listing_id, version,
    read_at)``), and product pages' new validators. A local crawl and the ingest of a distributed
    one both write through here."""
    with transaction(db):
        if run_id is not None:
            mark_seen(db, run_id, seen, now)
            save_product_sources(db, sources)
        save_page_validators(db, validators, now)
