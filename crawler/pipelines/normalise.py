"""Validate and tidy a listing; count what is missing or invalid in crawler stats (never raise)."""

from __future__ import annotations

import re
from typing import Any

from scrapy.exceptions import DropItem

from crawler.extract.money import decimal_string
from evaluator.listing import COUNTED_FIELDS, COUNTED_VARIANT_FIELDS
from serumscope.store.rows import storable_value

CURRENCY = re.compile(r"^[A-Z]{3}$")
# A price as decimal_string writes it, within evaluator.money's bounds (7 digits, 12 decimals).
STORED_PRICE = re.compile(r"(?:0|[1-9]\d{0,6})(?:\.\d{1,12})?")


class UnusableListing(ValueError):
    """A listing no crawl stores (it has no title)."""


def normalise_listing(item: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Tidy ``item`` in place: empty fields become None, text storable (serumscope.store.rows.storable_value),
    prices and regular prices decimal strings, currencies ISO codes (or None). Returns (missing fields, invalid fields); raises UnusableListing without a title."""
    if not item.get("title"):
        raise UnusableListing("listing without a title")
    missing: list[str] = []
    invalid: list[str] = []
    for field, value in item.items():
        clean = storable_value(value)
        if clean != value:  # a lone surrogate (JSON allows "\ud800") cannot be hashed or stored
            invalid.append(field)
            item[field] = clean
    for field in COUNTED_FIELDS:
        if item.get(field) in (None, "", []):
            item[field] = None
            missing.append(field)
    if not str(item.get("url", "")).startswith(("http://", "https://")):
        invalid.append("url")
    variants = item.get("variants") or []
    if not variants:
        missing.append("variants")
    for variant in variants:
        for field in ("price", "regular_price"):
            value = variant.get(field)
            if value is None or isinstance(value, str) and STORED_PRICE.fullmatch(value):
                continue  # what the platform spiders give (crawler.extract.money): read already
            fixed = decimal_string(value)
            if fixed is None:
                invalid.append(field)
            variant[field] = fixed
        currency = variant.get("currency")
        if currency is not None:
            currency = str(currency).strip().upper()
            if not CURRENCY.match(currency):
                invalid.append("currency")
                currency = None
            variant["currency"] = currency
        for field in COUNTED_VARIANT_FIELDS:
            if variant.get(field) is None:
                missing.append(f"variant.{field}")
    return missing, invalid


class NormalisePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def missing(self, field: str) -> None:
        self.stats.inc_value(f"serumscope/fields_missing/{field}")

    def invalid(self, field: str) -> None:
        self.stats.inc_value(f"serumscope/fields_invalid/{field}")

    def process_item(self, item):
        try:
            missing, invalid = normalise_listing(item)
        except UnusableListing as error:
            self.missing("title")
            self.crawler.spider.record_error(item.get("url") or "", "invalid-item", str(error))
            raise DropItem(str(error)) from None
        for field in missing:
            self.missing(field)
        for field in invalid:
            self.invalid(field)
        size_from = (item.get("provenance") or {}).get("size") or "not read"
        self.stats.inc_value(f"serumscope/size_from/{size_from}")
        return item
