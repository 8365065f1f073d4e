"""WooCommerce: page through the Store API (``/wp-json/wc/store/v1/products``) using its
``X-WP-TotalPages`` header; a variable product's variations are read one by one for their prices.
Prices come in minor units and are converted exactly (Decimal).

The Store API has no modified date, so a product whose JSON object hashes as it did at its last full
read is skipped, with its variation and page requests (crawler/unchanged.py). A variation's price or
the product page can change without the object changing; the periodic full crawl reads those.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode, urlparse

from scrapy.http import Request, Response

from crawler.extract.fields import names, size_in
from crawler.extract.ingredients import find_ingredients_in_html
from crawler.extract.listing import utc_now
from crawler.extract.money import from_minor_units, regular_price_if_higher
from crawler.extract.page import parse_page, product_from_page
from crawler.extract.sizes import fragment_size, size_and_source
from crawler.extract.text import clean, html_to_text
from crawler.middlewares import DownloadDropped
from crawler.platforms.base import ShopSpider
from crawler.unchanged import content_version
from evaluator.product_match import valid_gtin

API_PATH = "/wp-json/wc/store/v1/products"
PER_PAGE = 100
PAGE_WINDOW = 4  # Store API pages asked for at once
SIZE_ATTRIBUTES = ("size", "volume", "pa_size", "amount")


def _attribute(product: dict[str, Any], wanted: tuple[str, ...]) -> list[str]:
    for attribute in product.get("attributes") or []:
        if isinstance(attribute, dict) and str(attribute.get("name", "")).lower() in wanted:
            return names(attribute.get("terms"))
    return []


def variant_from_store_api(product: dict[str, Any], title: str | None = None) -> dict[str, Any]:
    prices = product.get("prices") or {}
    minor = prices.get("currency_minor_unit", 2)
    price = from_minor_units(prices.get("price"), minor)
    regular = from_minor_units(prices.get("regular_price"), minor)
    return {
        "variant_id": product.get("id"),
        "title": title,
        "size_text": size_in(title),
        "price": price,
        "regular_price": regular_price_if_higher(regular, price),
        "currency": clean(prices.get("currency_code")),
        "available": int(bool(product.get("is_in_stock"))) if "is_in_stock" in product else None,
        "sku": clean(product.get("sku")),
        # the Store API has no GTIN field; shops often use the EAN as the SKU
        "gtin": clean(product.get("sku")) if valid_gtin(product.get("sku")) else None,
    }


def listing_fields_from_woocommerce(
    product: dict[str, Any], variations: list[dict[str, Any]] | None = None
) -> tuple[dict, dict, list[dict]]:
    """(fields, provenance, raw variants) of one Store API product (and its variation objects)."""
    description_html = product.get("description") or None
    short_html = product.get("short_description") or None
    found = find_ingredients_in_html(description_html)
    ingredient_attribute = _attribute(product, ("ingredients", "inci", "full ingredients"))
    description = "\n".join(
        t for t in (html_to_text(short_html), html_to_text(description_html)) if t
    )
    brand = names(product.get("brands")) or _attribute(product, ("brand",))
    fields = {
        "title": clean(product.get("name")),
        "brand": brand[0] if brand else None,
        "description": description or None,
        "description_html": "\n".join(h for h in (short_html, description_html) if h) or None,
        "ingredients_text": found.text if found else (", ".join(ingredient_attribute) or None),
        "image_alts": names(
            [i.get("alt") for i in product.get("images") or [] if isinstance(i, dict)]
        ),
        "tags": names(product.get("tags")),
        "categories": names(product.get("categories")),
    }
    fields["details"] = attribute_details(product)
    provenance = {name: "api" for name, value in fields.items() if value}
    variants = []
    for variation in variations or []:
        label = clean(variation.get("variation")) or None
        if label and ":" in label:
            label = label.split(":", 1)[1].strip()
        variants.append(variant_from_store_api(variation, label))
    if not variants:
        sizes = _attribute(product, SIZE_ATTRIBUTES)
        variants.append(variant_from_store_api(product, sizes[0] if len(sizes) == 1 else None))
    in_description = fragment_size(short_html) or fragment_size(description_html)
    sources = []
    for variant in variants:
        variant["size_text"], source = size_and_source(
            variant["size_text"], in_description, fields["title"]
        )
        sources.append(source)
    if any(sources):
        provenance["size"] = next(s for s in sources if s)
    if any(v["price"] for v in variants):
        provenance["variants"] = "api"
    return fields, provenance, variants


NOT_DETAILS = {"ingredients", "inci", "full ingredients", "brand"}


def attribute_details(product: dict[str, Any]) -> str | None:
    """The product's attributes as "Name: value" lines (sizes, skin type, packaging ...), except the
    ingredient list and the brand, which have fields of their own."""
    lines = []
    for attribute in product.get("attributes") or []:
        if not isinstance(attribute, dict):
            continue
        name = clean(attribute.get("name"))
        values = names(attribute.get("terms"))
        if name and values and name.lower() not in NOT_DETAILS:
            lines.append(f"{name}: {', '.join(values)}")
    return "\n".join(lines) or None


# Fields the Store API may lack that the product page's structured data carries.
PAGE_FIELDS = ("brand", "ingredients_text", "categories")


def fields_missing_from_api(fields: dict[str, Any]) -> list[str]:
    """The PAGE_FIELDS the Store API left empty (the product page is read for them)."""
    return [name for name in PAGE_FIELDS if not fields.get(name)]


def fill_from_page(
    fields: dict, provenance: dict, page_fields: dict[str, Any] | None, missing: list[str]
) -> None:
    """Fill the ``missing`` fields the product page's fields (``product_from_page``) carry."""
    for name in missing:
        if page_fields and page_fields.get(name):
            fields[name] = page_fields[name]
            provenance[name] = page_fields["provenance"][name]


class WooCommerceSpider(ShopSpider):
    name = "woocommerce"
    platform = "woocommerce"
    # The Store API has no brand field: read it (and anything else missing) from the product page.
    complete_from_page = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.total_pages: dict[str | None, int] = {}  # X-WP-TotalPages per search

    def page_request(self, search: str | None, page: int) -> Request:
        query = {"page": page, "per_page": PER_PAGE}
        if search:
            query["search"] = search
        return Request(
            f"{self.base_url}{API_PATH}?{urlencode(query)}",
            callback=self.parse_page,
            errback=self.on_page_error,
            cb_kwargs={"search": search, "page": page},
        )

    def on_page_error(self, failure) -> Iterator[Request]:
        """Record the failed page; the window goes on past it (pages after it may list products)."""
        if failure.check(DownloadDropped):
            return
        self.on_request_error(failure)
        search, page = failure.request.cb_kwargs["search"], failure.request.cb_kwargs["page"]
        if page > 1 and page + PAGE_WINDOW <= self.total_pages.get(search, 0):
            yield self.page_request(search, page + PAGE_WINDOW)

    def start_shop(self) -> Iterator[Request]:
        for search in self.shop_config.get("search") or [None]:
            yield self.page_request(search, 1)

    async def fetch_variations(
        self, product: dict[str, Any], unread: set[str]
    ) -> list[dict[str, Any]]:
        """The product's variation objects; when one cannot be read, ``"variants"`` joins ``unread``
        so the store keeps the variants it has instead of trusting a shorter (or invented) list."""
        variations = []
        for variation in product.get("variations") or []:
            url = f"{self.base_url}{API_PATH}/{variation.get('id')}"
            try:
                response = await self.crawler.engine.download_async(Request(url, dont_filter=True))
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}")
                variations.append(json.loads(response.text))
            except Exception as error:
                unread.add("variants")
                self.record_error(
                    url, "variation", f"variation of product {product.get('id')}: {error}"
                )
        return variations

    async def complete_fields(
        self, url: str, fields: dict, provenance: dict, unread: set[str]
    ) -> None:
        """Fill PAGE_FIELDS the API lacked from the product page; when the page cannot be read they
        join ``unread`` (the store keeps what an earlier crawl read for them)."""
        missing = fields_missing_from_api(fields)
        if not missing or not url:
            return
        try:
            # Not marked product_page: a conditional 304 here would leave the fields empty.
            response = await self.crawler.engine.download_async(Request(url))
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            page_fields = product_from_page(
                parse_page(response.body, response.url, response.encoding)
            )
        except Exception as error:
            unread.update(missing)
            self.record_error(url, "page", f"product page for missing fields: {error}")
            return
        fill_from_page(fields, provenance, page_fields, missing)

    async def parse_page(
        self, response: Response, search: str | None, page: int
    ) -> AsyncIterator[Any]:
        products = self.json_answer(response, list, "unreadable Store API page")
        if products is None:
            return
        header = (response.headers.get(b"X-WP-TotalPages") or b"").decode().strip()
        if not header.isdigit():
            known = all(
                str(p.get("id")).strip() in self.seen_products
                for p in products
                if isinstance(p, dict) and p.get("id") is not None
            )
            if products and not known:
                yield self.page_request(search, page + 1)
        elif products:
            # A window of PAGE_WINDOW pages in flight, each answer asking for the page PAGE_WINDOW
            # on: the header is believed only as far as pages keep listing products, so a shop
            # claiming 100 million pages costs a few requests (or a page limit), not 100 million
            # queued at once.
            self.total_pages[search] = int(header)
            for next_page in range(2, 2 + PAGE_WINDOW) if page == 1 else [page + PAGE_WINDOW]:
                if next_page <= self.total_pages[search]:
                    yield self.page_request(search, next_page)
        elif page < int(header):
            # The window stops here, so the pages after it are not read: an error makes the shop
            # partial, and a partial shop's listings are never marked gone.
            self.record_error(
                response.url,
                "parse",
                f"Store API page {page} of {header} listed no products; later pages not read",
                response.status,
            )
        async for item in self.listings(response, products):
            yield item

    def json_answer(self, response: Response, kind: type, problem: str) -> Any:
        """The Store API's JSON answer when it is a ``kind`` (list or dict); else None, recorded."""
        try:
            answer = json.loads(response.text)
            if not isinstance(answer, kind):
                raise ValueError(f"the answer is not a JSON {'list' if kind is list else 'object'}")
        except ValueError as error:
            self.record_error(response.url, "parse", f"{problem}: {error}", response.status)
            return None
        return answer

    def start_product(self, url: str) -> Iterator[Request]:
        """A Store API product (``/wp-json/wc/store/v1/products/<id>``)."""
        if API_PATH in urlparse(url).path:
            yield Request(url, callback=self.parse_product, errback=self.on_request_error)

    async def parse_product(self, response: Response) -> AsyncIterator[Any]:
        product = self.json_answer(response, dict, "not a Store API product")
        if product is None:
            return
        async for item in self.listings(response, [product]):
            yield item

    async def listings(self, response: Response, products: list[Any]) -> AsyncIterator[Any]:
        """The listings of a Store API page's products (each product once per crawl), their
        variations and missing fields read as they are met."""
        fetched_at = utc_now()
        page_ids: set[str] = set()
        for product in products:
            if not self.first_sighting(product, response.url, page_ids):
                continue
            # The Store API gives no modified date: the product object's hash stands for it.
            key, version = str(product["id"]).strip(), content_version(product)
            if self.skip_unchanged(key, version):
                continue
            unread: set[str] = set()
            try:
                data = self.pre_process_data(product, response)
                variations = (
                    await self.fetch_variations(data, unread) if data.get("variations") else []
                )
                fields, provenance, variants = listing_fields_from_woocommerce(data, variations)
                for priced, variant in zip(variations or [data], variants, strict=True):
                    self.count_unreadable_price(
                        (priced.get("prices") or {}).get("price"), variant["price"]
                    )
                if self.complete_from_page:
                    await self.complete_fields(
                        clean(data.get("permalink")), fields, provenance, unread
                    )
            except Exception as error:
                self.record_error(response.url, "parse", f"product {product.get('id')}: {error}")
                continue
            for item in self.finish_listing(
                response,
                data,
                {"_unread": unread, "_source": self.source_mark(key, version)},
                url=clean(data.get("permalink")) or f"{self.base_url}/?p={data.get('id')}",
                canonical_id=str(data.get("id")),
                fields=fields,
                provenance=provenance,
                variants=variants,
                fetched_at=fetched_at,
            ):
                yield item
