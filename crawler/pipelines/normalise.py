"""Validate and tidy a listing; count what is missing or invalid in crawler stats (never raise)."""

from __future__ import annotations

import re

from scrapy.exceptions import DropItem

from crawler.extract.money import decimal_string

CURRENCY = re.compile(r"^[A-Z]{3}$")
COUNTED_FIELDS = ("brand", "description", "ingredients_text", "image_alts", "categories")
COUNTED_VARIANT_FIELDS = ("price", "currency", "size_text", "available")


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
        if not item.get("title"):
            self.missing("title")
            spider = self.crawler.spider
            spider.record_error(item.get("url") or "", "invalid-item", "listing without a title")
            raise DropItem("listing without a title")
        for field in COUNTED_FIELDS:
            if item.get(field) in (None, "", []):
                item[field] = None
                self.missing(field)
        if not str(item.get("url", "")).startswith(("http://", "https://")):
            self.invalid("url")
        variants = item.get("variants") or []
        if not variants:
            self.missing("variants")
        for variant in variants:
            if (
                variant.get("price") is not None
                and decimal_string(variant["price"]) != variant["price"]
            ):
                fixed = decimal_string(variant["price"])
                if fixed is None:
                    self.invalid("price")
                variant["price"] = fixed
            currency = variant.get("currency")
            if currency is not None:
                currency = str(currency).strip().upper()
                if not CURRENCY.match(currency):
                    self.invalid("currency")
                    currency = None
                variant["currency"] = currency
            for field in COUNTED_VARIANT_FIELDS:
                if variant.get(field) is None:
                    self.missing(f"variant.{field}")
        return item
