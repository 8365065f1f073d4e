"""A WooCommerce store: the public Store API and ``/product/<slug>/`` pages.

``GET /wp-json/wc/store/v1/products`` answers as WooCommerce's Store API does: ``per_page`` defaults
to 10 (0..100), ``page`` from 1, ``X-WP-Total`` / ``X-WP-TotalPages`` and a ``Link`` header on every
page; a page past the end is ``200 []``; an out-of-range or non-integer parameter is a 400
``rest_invalid_param`` error; prices are strings in minor units ("1800" = 18.00).
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import urlencode

from serumscope.demo.catalog import Catalog, CatalogShop, DemoDataError, parse_time
from serumscope.demo.http import (
    Response,
    html_response,
    image_response,
    json_response,
    not_found_page,
    text_response,
)
from serumscope.demo.pages import (
    availability_url,
    description_with_ingredients,
    frame,
    json_ld,
    sitemap_index,
    sitemap_urlset,
)
from serumscope.demo.woocommerce_objects import (
    StoreApiObjects,
    product_id,
    variation_id,
)

API_PREFIX = "/wp-json/wc/store/v1"
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100

ROBOTS_TXT = """User-agent: *
Disallow: /wp-admin/
Allow: /wp-admin/admin-ajax.php
Disallow: /cart/
Disallow: /checkout/
Disallow: /my-account/

Sitemap: {base}/wp-sitemap.xml
"""


def invalid_param(name: str, message: str, code: str) -> Response:
    return json_response(
        {
            "code": "rest_invalid_param",
            "message": f"Invalid parameter(s): {name}",
            "data": {
                "status": 400,
                "params": {name: message},
                "details": {name: {"code": code, "message": message, "data": None}},
            },
        },
        status=400,
    )


def integer_param(
    query: dict[str, list[str]], name: str, default: int, low: int, high: int | None
) -> int | Response:
    if name not in query:
        return default
    text = query[name][0].strip()
    if not re.fullmatch(r"-?\d+", text):
        return invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")
    value = int(text)
    if high is not None and not low <= value <= high:
        message = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
        return invalid_param(name, message, "rest_out_of_bounds")
    if value < low:
        message = f"{name} must be greater than or equal to {low}"
        return invalid_param(name, message, "rest_out_of_bounds")
    return value


class WooCommerceShop(StoreApiObjects, CatalogShop):
    platform = "woocommerce"

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @catalog.setter
    def catalog(self, catalog: Catalog) -> None:
        ids: dict[int, str] = {}
        for product in catalog.products["woocommerce"]:
            # a simple product (one variant) has no variations: only its own id is served
            count = len(product["variants"])
            numbers = [product_id(product)] + [
                variation_id(product, n) for n in range(count if count > 1 else 0)
            ]
            for number in numbers:
                if number in ids and ids[number] != product["slug"]:
                    raise DemoDataError(
                        f"woocommerce ids collide: {product['slug']} and {ids[number]}; "
                        "give one of them an explicit `id`"
                    )
                ids[number] = product["slug"]
        self._catalog = catalog

    def respond(self, path: str, query: dict[str, list[str]]) -> Response:
        modified = self.catalog.modified.get("woocommerce")
        if path in (f"{API_PREFIX}/products", f"{API_PREFIX}/products/"):
            return self.product_list(query)
        if path.startswith(f"{API_PREFIX}/products/"):
            return self.single(path.removeprefix(f"{API_PREFIX}/products/").strip("/"))
        if path.startswith("/wp-json"):
            return json_response(
                {
                    "code": "rest_no_route",
                    "message": "No route was found matching the URL and request method.",
                    "data": {"status": 404},
                },
                status=404,
            )
        if path.startswith("/product/"):
            slug = path.removeprefix("/product/")
            if slug and not slug.endswith("/"):
                return Response(
                    301, b"", "text/html; charset=utf-8", {"Location": f"{self.base_url}{path}/"}
                )
            product = self.catalog.find("woocommerce", slug.strip("/"))
            if product is None:
                return not_found_page("Page not found")
            page = self.product_page(product)
            return html_response(page, last_modified=parse_time(product["updated_at"]))
        if path.startswith("/wp-content/uploads/"):
            return image_response()
        if path == "/robots.txt":
            return text_response(ROBOTS_TXT.format(base=self.base_url), "text/plain")
        if path == "/wp-sitemap.xml":
            index = sitemap_index([(f"{self.base_url}/wp-sitemap-posts-product-1.xml", None)])
            return text_response(index, "application/xml", last_modified=modified)
        if path == "/wp-sitemap-posts-product-1.xml":
            entries = [(self.permalink(p), p["updated_at"]) for p in self.products]
            return text_response(sitemap_urlset(entries), "application/xml", last_modified=modified)
        if path == "/":
            links = "\n".join(
                f'<li><a href="{self.permalink(p)}">{escape(p["title"])}</a></li>'
                for p in self.products
            )
            return html_response(
                frame("Shop", f"<h1>Shop</h1><ul>{links}</ul>", shop_name=self.config["title"]),
                last_modified=self.catalog.modified.get("woocommerce"),
            )
        return not_found_page("Page not found")

    def permalink(self, product: dict[str, Any]) -> str:
        return f"{self.base_url}/product/{product['slug']}/"

    def matches(self, product: dict[str, Any], search: str) -> bool:
        text = " ".join(
            [product["title"], product["description"], product.get("short_description", "")]
        ).lower()
        return all(term in text for term in search.lower().split())

    def product_list(self, query: dict[str, list[str]]) -> Response:
        page = integer_param(query, "page", 1, 1, None)
        if isinstance(page, Response):
            return page
        per_page = integer_param(query, "per_page", DEFAULT_PER_PAGE, 0, MAX_PER_PAGE)
        if isinstance(per_page, Response):
            return per_page
        per_page = max(per_page, 1)  # WP_Query reads posts_per_page=0 as 1
        search = query.get("search", [""])[0].strip()
        found = [p for p in self.products if not search or self.matches(p, search)]
        total_pages = -(-len(found) // per_page)
        chosen = found[(page - 1) * per_page : page * per_page]
        base = f"{self.base_url}{API_PREFIX}/products"
        params = {k: v[0] for k, v in query.items()}
        links = []
        if page > 1:
            links.append(
                f'<{base}?{urlencode({**params, "page": min(page - 1, max(total_pages, 1))})}>; rel="prev"'
            )
        if page < total_pages:
            links.append(f'<{base}?{urlencode({**params, "page": page + 1})}>; rel="next"')
        headers = {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(total_pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return json_response(
            [self.product_object(p) for p in chosen],
            headers=headers,
            last_modified=self.catalog.modified.get("woocommerce"),
        )

    def single(self, ident: str) -> Response:
        for product in self.products:
            if ident == str(product_id(product)):
                return json_response(
                    self.product_object(product), last_modified=parse_time(product["updated_at"])
                )
            for position in range(len(product["variants"])):
                if len(product["variants"]) > 1 and ident == str(variation_id(product, position)):
                    return json_response(
                        self.variation_object(product, position),
                        last_modified=parse_time(product["updated_at"]),
                    )
        return json_response(
            {
                "code": "woocommerce_rest_product_invalid_id",
                "message": "Invalid product ID.",
                "data": {"status": 404},
            },
            status=404,
        )

    def product_page(self, product: dict[str, Any]) -> str:
        url = self.permalink(product)
        currency = self.config["currency"]
        variants = product["variants"]
        image_urls = [
            f"{self.base_url}/wp-content/uploads/2025/06/{i['file']}" for i in product["images"]
        ]
        if len(variants) > 1:
            amounts = [Decimal(v["price"]) for v in variants]
            offer: dict[str, Any] = {
                "@type": "AggregateOffer",
                "lowPrice": f"{min(amounts):.2f}",
                "highPrice": f"{max(amounts):.2f}",
                "offerCount": len(variants),
                "priceCurrency": currency,
                "availability": availability_url(any(v["available"] for v in variants)),
                "url": url,
            }
        else:
            offer = {
                "@type": "Offer",
                "price": f"{Decimal(variants[0]['price']):.2f}",
                "priceValidUntil": "2027-12-31",
                "priceSpecification": {
                    "price": f"{Decimal(variants[0]['price']):.2f}",
                    "priceCurrency": currency,
                    "valueAddedTaxIncluded": "false",
                },
                "priceCurrency": currency,
                "availability": availability_url(variants[0]["available"]),
                "url": url,
                "seller": {
                    "@type": "Organization",
                    "name": self.config["title"],
                    "url": self.base_url,
                },
            }
        structured = {
            "@context": "https://schema.org/",
            "@graph": [
                {
                    "@type": "BreadcrumbList",
                    "itemListElement": [
                        {
                            "@type": "ListItem",
                            "position": 1,
                            "item": {"name": "Home", "@id": self.base_url},
                        },
                        {
                            "@type": "ListItem",
                            "position": 2,
                            "item": {"name": product["title"], "@id": url},
                        },
                    ],
                },
                {
                    "@type": "Product",
                    "@id": f"{url}#product",
                    "name": product["title"],
                    "url": url,
                    "description": product.get("short_description") or product["title"],
                    "image": image_urls[0] if image_urls else None,
                    "sku": variants[0].get("sku", ""),
                    "offers": [offer],
                    "brand": {"@type": "Brand", "name": product["brand"]},
                },
            ],
        }
        attributes = "".join(
            f"<tr><th>{escape(a['name'])}</th><td><p>{escape(', '.join(a['values']))}</p></td></tr>"
            for a in product.get("attributes", [])
        )
        gallery = "".join(
            f'<img src="{src}" alt="{escape(i.get("alt", ""))}">'
            for src, i in zip(image_urls, product["images"], strict=True)
        )
        stock = (
            ""
            if any(v["available"] for v in variants)
            else '<p class="stock out-of-stock">Out of stock</p>'
        )
        body = f"""<nav class="woocommerce-breadcrumb"><a href="/">Home</a> / {escape(product["title"])}</nav>
<div id="product-{product_id(product)}" class="product type-product">
<div class="woocommerce-product-gallery">{gallery}</div>
<div class="summary entry-summary">
<h1 class="product_title entry-title">{escape(product["title"])}</h1>
<p class="price">{self.price_html(variants)}</p>
<div class="woocommerce-product-details__short-description">{product.get("short_description", "")}</div>
{stock}
</div>
<div class="woocommerce-tabs wc-tabs-wrapper">
<ul class="tabs wc-tabs" role="tablist">
<li class="description_tab"><a href="#tab-description">Description</a></li>
<li class="additional_information_tab"><a href="#tab-additional_information">Additional information</a></li>
</ul>
<div class="woocommerce-Tabs-panel woocommerce-Tabs-panel--description panel entry-content wc-tab" id="tab-description">
<h2>Description</h2>
{description_with_ingredients(product, heading_tag="h4")}
</div>
<div class="woocommerce-Tabs-panel woocommerce-Tabs-panel--additional_information panel entry-content wc-tab" id="tab-additional_information">
<h2>Additional information</h2>
<table class="woocommerce-product-attributes shop_attributes">{attributes}</table>
</div>
</div>
</div>"""
        head = f'<link rel="canonical" href="{url}">\n{json_ld(structured)}'
        return frame(product["title"], body, shop_name=self.config["title"], head=head)
