"""A Shopify storefront: ``/products.json``, collections, ``/products/<handle>`` and its ``.json``.

Mirrors what a real Shopify shop answers to an anonymous client: ``limit`` defaults to 30 and is
capped at 250, ``page`` counts from 1 and a page past the end is ``{"products": []}``; an unknown
collection or product is a 404. Prices are decimal strings ("29.00").
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from serumscope.demo.catalog import CatalogShop, parse_time, stable_number
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
    money,
    sitemap_index,
    sitemap_urlset,
)

DEFAULT_LIMIT = 30
MAX_LIMIT = 250

ROBOTS_TXT = """# we use Shopify as our ecommerce platform
User-agent: *
Disallow: /admin
Disallow: /cart
Disallow: /orders
Disallow: /checkouts/
Disallow: /checkout
Disallow: /account
Disallow: /collections/*sort_by*
Disallow: /*/collections/*sort_by*
Disallow: /collections/*+*
Disallow: /search
Disallow: /apple-app-site-association
Sitemap: {base}/sitemap.xml
"""


def whole_number(values: list[str] | None, default: int) -> int:
    """Shopify reads bad or missing numbers as the default rather than failing."""
    try:
        return int(values[0]) if values else default
    except ValueError:
        return default


def product_id(product: dict[str, Any]) -> int:
    return stable_number("shopify:" + product["slug"], 7_100_000_000_000, 900_000_000_000)


def variant_id(product: dict[str, Any], position: int) -> int:
    return stable_number(f"shopify:{product['slug']}:{position}", 41_000_000_000_000, 9 * 10**12)


class ShopifyShop(CatalogShop):
    platform = "shopify"

    def respond(self, path: str, query: dict[str, list[str]]) -> Response:
        modified = self.catalog.modified.get("shopify")
        if path == "/products.json":
            return self.product_list(self.products, query)
        if path.startswith("/collections/") and path.endswith("/products.json"):
            handle = path.removeprefix("/collections/").removesuffix("/products.json")
            collections = self.config.get("collections", {})
            if handle == "all":
                return self.product_list(self.products, query)
            if handle not in collections:
                return json_response({"errors": "Not Found"}, status=404)
            members = [p for p in self.products if handle in p["collections"]]
            return self.product_list(members, query)
        if path.startswith("/products/"):
            handle = path.removeprefix("/products/")
            as_json = handle.endswith(".json")
            product = self.catalog.find("shopify", handle.removesuffix(".json"))
            if product is None:
                if as_json:
                    return json_response({"errors": "Not Found"}, status=404)
                return not_found_page("404 Not Found")
            if as_json:
                return json_response(
                    {"product": self.product_object(product, single=True)},
                    last_modified=self.updated(product),
                )
            return html_response(self.product_page(product), last_modified=self.updated(product))
        if path.startswith("/cdn/shop/files/"):
            return image_response()
        if path == "/robots.txt":
            return text_response(ROBOTS_TXT.format(base=self.base_url), "text/plain")
        if path == "/sitemap.xml":
            index = sitemap_index([(f"{self.base_url}/sitemap_products_1.xml", None)])
            return text_response(index, "application/xml", last_modified=modified)
        if path == "/sitemap_products_1.xml":
            entries = [
                (f"{self.base_url}/products/{p['slug']}", p["updated_at"]) for p in self.products
            ]
            return text_response(sitemap_urlset(entries), "application/xml", last_modified=modified)
        if path == "/":
            return html_response(self.home_page(), last_modified=modified)
        return not_found_page("404 Not Found")

    def updated(self, product: dict[str, Any]) -> datetime:
        return parse_time(product["updated_at"])

    def product_list(self, products: list[dict[str, Any]], query: dict[str, list[str]]) -> Response:
        limit = whole_number(query.get("limit"), DEFAULT_LIMIT)
        limit = DEFAULT_LIMIT if limit < 1 else min(limit, MAX_LIMIT)
        page = max(whole_number(query.get("page"), 1), 1)
        chosen = products[(page - 1) * limit : page * limit]
        return json_response(
            {"products": [self.product_object(p) for p in chosen]},
            last_modified=self.catalog.modified.get("shopify"),
        )

    def image_objects(self, product: dict[str, Any]) -> list[dict[str, Any]]:
        pid = product_id(product)
        return [
            {
                "id": stable_number(f"img:{product['slug']}:{n}", 30_000_000_000_000, 10**12),
                "created_at": product["published_at"],
                "position": n + 1,
                "updated_at": product["updated_at"],
                "product_id": pid,
                "variant_ids": [],
                "src": f"{self.base_url}/cdn/shop/files/{image['file']}",
                "alt": image.get("alt"),
                "width": 1200,
                "height": 1200,
            }
            for n, image in enumerate(product["images"])
        ]

    def product_object(self, product: dict[str, Any], single: bool = False) -> dict[str, Any]:
        """One product as ``/products.json`` lists it (``single``: as ``/products/<h>.json``)."""
        pid = product_id(product)
        option_name = product.get(
            "option_name", "Size" if len(product["variants"]) > 1 else "Title"
        )
        variants = []
        for position, variant in enumerate(product["variants"]):
            option1 = variant["title"] if option_name != "Title" else "Default Title"
            item = {
                "id": variant_id(product, position),
                "title": option1,
                "option1": option1,
                "option2": None,
                "option3": None,
                "sku": variant.get("sku", ""),
                "requires_shipping": True,
                "taxable": True,
                "featured_image": None,
                "available": variant["available"],
                "price": variant["price"],
                "grams": variant.get("grams", 0),
                "compare_at_price": variant["compare_at_price"],
                "position": position + 1,
                "product_id": pid,
                "created_at": product["published_at"],
                "updated_at": product["updated_at"],
            }
            if single:
                item.update(
                    {
                        "price_currency": self.config["currency"],
                        "inventory_management": "shopify",
                        "barcode": variant.get("barcode", ""),
                        "weight": variant.get("grams", 0) / 1000,
                        "weight_unit": "kg",
                    }
                )
            variants.append(item)
        images = self.image_objects(product)
        body = {
            "id": pid,
            "title": product["title"],
            "handle": product["slug"],
            "body_html": description_with_ingredients(product),
            "published_at": product["published_at"],
            "created_at": product["published_at"],
            "updated_at": product["updated_at"],
            "vendor": product["brand"],
            "product_type": product.get("product_type", ""),
            "tags": ", ".join(product["tags"]) if single else list(product["tags"]),
            "variants": variants,
            "images": images,
            "options": [
                {
                    "name": option_name,
                    "position": 1,
                    "values": [v["option1"] for v in variants],
                }
            ],
        }
        if single:
            body["image"] = images[0] if images else None
            body["template_suffix"] = ""
            body["published_scope"] = "global"
        return body

    def product_page(self, product: dict[str, Any]) -> str:
        url = f"{self.base_url}/products/{product['slug']}"
        currency = self.config["currency"]
        image_urls = [f"{self.base_url}/cdn/shop/files/{i['file']}" for i in product["images"]]
        structured = {
            "@context": "http://schema.org/",
            "@type": "Product",
            "name": product["title"],
            "url": url,
            "image": image_urls,
            "description": product.get("seo_description", product["title"]),
            "sku": product["variants"][0].get("sku", ""),
            "brand": {"@type": "Brand", "name": product["brand"]},
            "offers": [
                {
                    "@type": "Offer",
                    "sku": variant.get("sku", ""),
                    "availability": availability_url(variant["available"]),
                    "price": variant["price"],
                    "priceCurrency": currency,
                    "url": f"{url}?variant={variant_id(product, n)}",
                }
                for n, variant in enumerate(product["variants"])
            ],
        }
        first = product["variants"][0]
        price = (
            f'<span class="price-item price-item--regular">{money(first["price"], currency)}</span>'
        )
        if first["compare_at_price"]:
            price = (
                f'<s class="price-item price-item--regular">'
                f"{money(first['compare_at_price'], currency)}</s> "
                f'<span class="price-item price-item--sale">{money(first["price"], currency)}</span>'
            )
        options = "".join(
            f'<option value="{variant_id(product, n)}">{escape(v["title"])}</option>'
            for n, v in enumerate(product["variants"])
        )
        images = "".join(
            f'<img src="{src}" alt="{escape(i.get("alt") or "")}" width="600" height="600">'
            for src, i in zip(image_urls, product["images"], strict=True)
        )
        body = f"""<section class="product">
<div class="product__media">{images}</div>
<div class="product__info">
<p class="product__vendor">{escape(product["brand"])}</p>
<h1 class="product__title">{escape(product["title"])}</h1>
<div class="price">{price}</div>
<select name="id">{options}</select>
<div class="product__description rte">
{description_with_ingredients(product)}
</div>
</div>
</section>"""
        head = f'<link rel="canonical" href="{url}">\n{json_ld(structured)}'
        return frame(product["title"], body, shop_name=self.config["title"], head=head)

    def home_page(self) -> str:
        links = "\n".join(
            f'<li><a href="/products/{p["slug"]}">{escape(p["title"])}</a></li>'
            for p in self.products
        )
        return frame(
            "Home", f"<h1>All products</h1><ul>{links}</ul>", shop_name=self.config["title"]
        )
