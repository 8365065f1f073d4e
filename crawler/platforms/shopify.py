"""Shopify: page through ``/products.json`` (and ``/collections/<handle>/products.json``) until a page
comes back empty; one listing per product with all its variants.

``products.json`` carries no currency, so the spider reads it once from ``/products/<handle>.json``
(variants' ``price_currency``); a ``currency`` in the sites file wins. A product whose ``updated_at``
(and its variants') is as it was at the last full read is skipped (crawler/unchanged.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlparse

from scrapy.http import Request, Response

from crawler.extract.fields import availability, names, size_in
from crawler.extract.ingredients import find_ingredients_in_html
from crawler.extract.listing import utc_now
from crawler.extract.money import decimal_string, regular_price_if_higher
from crawler.extract.sizes import fragment_size, size_and_source
from crawler.extract.text import clean, html_to_text
from crawler.platforms.base import ShopSpider
from crawler.unchanged import content_version

PAGE_SIZE = 250
# Products whose /products/<handle>.json is tried for the currency before giving up for this crawl.
MAX_CURRENCY_ATTEMPTS = 3
PRODUCT_PATH = re.compile(r"^(.*/products/[^/?#.]+)/?$")


def listing_fields_from_shopify(product: dict[str, Any]) -> tuple[dict, dict, list[dict]]:
    """(fields, provenance, raw variants) of one ``products.json`` product object."""
    body_html = product.get("body_html") or None
    found = find_ingredients_in_html(body_html)
    tags = product.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    fields = {
        "title": clean(product.get("title")),
        "brand": clean(product.get("vendor")),
        "description": html_to_text(body_html),
        "description_html": body_html,
        "ingredients_text": found.text if found else None,
        "image_alts": names(
            [img.get("alt") for img in product.get("images") or [] if isinstance(img, dict)]
        ),
        "tags": names(tags),
        "categories": names(product.get("product_type")),
    }
    provenance = {name: "api" for name, value in fields.items() if value}
    variants = []
    in_body = fragment_size(body_html)
    sources: list[str | None] = []
    option_names = [
        clean(o.get("name")) for o in product.get("options") or [] if isinstance(o, dict)
    ]
    for raw in product.get("variants") or []:
        price = decimal_string(raw.get("price"))
        compare = decimal_string(raw.get("compare_at_price"))
        title = clean(raw.get("title"))
        options = [clean(raw.get(f"option{n}")) for n in (1, 2, 3)]
        size_option = next(
            (value for name, value in zip(option_names, options, strict=False)
             if name and value and name.lower() in ("size", "volume", "amount")),
            None,
        )  # fmt: skip
        size, source = size_and_source(
            size_option or size_in(title, *options), in_body, fields["title"]
        )
        sources.append(source)
        variants.append(
            {
                "variant_id": raw.get("id"),
                "title": None if title == "Default Title" else title,
                "size_text": size,
                "price": price,
                "regular_price": regular_price_if_higher(compare, price),
                "currency": clean(raw.get("price_currency")),
                "available": availability(raw.get("available")),
                "sku": clean(raw.get("sku")),
                "gtin": clean(raw.get("barcode")),
            }
        )
    if variants:
        provenance["variants"] = "api"
    if any(sources):
        provenance["size"] = next(s for s in sources if s)
    return fields, provenance, variants


def shopify_version(product: dict[str, Any]) -> str | None:
    """A ``products.json`` product's change signal (crawler/unchanged.py): its ``updated_at`` with each
    variant's ``updated_at``, availability and prices (stock can change without a new ``updated_at``);
    None when the product has no ``updated_at``."""
    stamp = product.get("updated_at")
    if not stamp or not isinstance(stamp, str):
        return None
    variants = [
        [v.get(key) for key in ("id", "updated_at", "available", "price", "compare_at_price")]
        for v in product.get("variants") or []
        if isinstance(v, dict)
    ]
    return content_version([stamp, variants])


def shop_currency(product_json: Any) -> str:
    """The shop's currency from one ``/products/<handle>.json`` answer (its first variant's
    ``price_currency``); ValueError when it has none."""
    try:
        currency = clean(product_json["product"]["variants"][0].get("price_currency"))
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise ValueError(f"no product variants to read it from ({error!r})") from None
    if not currency:
        raise ValueError("no price_currency in the product's variants")
    return currency


def fill_currency(variants: list[dict[str, Any]], currency: str | None) -> set[str]:
    """Give variants without their own currency the shop's; ``{"currency"}`` if some still lack one."""
    unread = set()
    for variant in variants:
        variant["currency"] = variant["currency"] or currency
        if not variant["currency"]:
            unread.add("currency")
    return unread


class ShopifySpider(ShopSpider):
    name = "shopify"
    platform = "shopify"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency: str | None = self.shop_config.get("currency")
        self.currency_attempts = 0
        self.feed_ids: dict[str, set[str]] = {}

    def feed_urls(self) -> list[str]:
        urls = [f"{self.base_url}/products.json"]
        urls += [
            f"{self.base_url}/collections/{h}/products.json"
            for h in self.shop_config.get("collections", [])
        ]
        return urls

    def feed_request(self, feed: str, page: int) -> Request:
        return Request(
            f"{feed}?limit={PAGE_SIZE}&page={page}",
            callback=self.parse_feed,
            errback=self.on_request_error,
            cb_kwargs={"feed": feed, "page": page},
        )

    def start_shop(self) -> Iterator[Request]:
        for feed in self.feed_urls():
            yield self.feed_request(feed, 1)

    async def learn_currency(self, handle: str) -> None:
        """Read the shop currency from one product; on failure the next product tries again."""
        self.currency_attempts += 1
        url = f"{self.base_url}/products/{handle}.json"
        try:
            response = await self.crawler.engine.download_async(Request(url, dont_filter=True))
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            self.currency = shop_currency(json.loads(response.text))
        except Exception as error:
            self.currency = None
            self.record_error(url, "currency", f"could not read the shop currency: {error}")

    async def parse_feed(self, response: Response, feed: str, page: int) -> AsyncIterator[Any]:
        try:
            products = json.loads(response.text)["products"]
            if not isinstance(products, list):
                raise ValueError("'products' is not a list")
        except (ValueError, KeyError, TypeError) as error:
            self.record_error(
                response.url, "parse", f"unreadable products feed: {error}", response.status
            )
            return
        if not products:
            return
        ids_in_feed = self.feed_ids.setdefault(feed, set())
        fresh = {
            str(p["id"]) for p in products if isinstance(p, dict) and p.get("id") is not None
        } - ids_in_feed
        ids_in_feed |= fresh
        if fresh:  # a page of only known products means the shop ignores ``page``: stop there
            yield self.feed_request(feed, page + 1)
        async for item in self.listings(response, products):
            yield item

    def start_product(self, url: str) -> Iterator[Request]:
        """A product page (``/products/<handle>``) is read from its ``.json``, which also carries
        the currency ``products.json`` lacks."""
        match = PRODUCT_PATH.match(urlparse(url).path)
        if match:
            yield Request(
                f"{self.base_url}{match.group(1)}.json",
                callback=self.parse_product_json,
                errback=self.on_request_error,
            )

    async def parse_product_json(self, response: Response) -> AsyncIterator[Any]:
        try:
            data = json.loads(response.text)
            product = data["product"]
            if not isinstance(product, dict):
                raise ValueError("'product' is not an object")
        except (ValueError, KeyError, TypeError) as error:
            self.record_error(
                response.url, "parse", f"not a Shopify product: {error}", response.status
            )
            return
        if self.currency is None:
            try:
                self.currency = shop_currency(data)
            except ValueError as error:
                self.record_error(
                    response.url, "currency", f"could not read the shop currency: {error}"
                )
            self.currency_attempts = MAX_CURRENCY_ATTEMPTS  # this was the one place to read it
        async for item in self.listings(response, [product]):
            yield item

    async def listings(self, response: Response, products: list[Any]) -> AsyncIterator[Any]:
        """The listings of a feed page's products (each product once per crawl)."""
        fetched_at = utc_now()
        page_ids: set[str] = set()
        for product in products:
            if not self.first_sighting(product, response.url, page_ids):
                continue
            key, version = str(product["id"]).strip(), shopify_version(product)
            if self.skip_unchanged(key, version):
                continue
            if self.currency is None and self.currency_attempts < MAX_CURRENCY_ATTEMPTS:
                await self.learn_currency(str(product.get("handle") or ""))
            try:
                data = self.pre_process_data(product, response)
                fields, provenance, variants = listing_fields_from_shopify(data)
                for raw, variant in zip(data.get("variants") or [], variants, strict=True):
                    self.count_unreadable_price(raw.get("price"), variant["price"])
            except Exception as error:
                self.record_error(response.url, "parse", f"product {product.get('id')}: {error}")
                continue
            unread = fill_currency(variants, self.currency)
            for item in self.finish_listing(
                response,
                data,
                {"_unread": unread, "_source": self.source_mark(key, version)},
                url=f"{self.base_url}/products/{data.get('handle')}",
                canonical_id=str(data.get("id")),
                fields=fields,
                provenance=provenance,
                variants=variants,
                fetched_at=fetched_at,
            ):
                yield item
