"""The JSON objects of the demo WooCommerce shop's Store API (serumscope/demo/woocommerce.py): a product,
a variation, their prices in minor units and their terms, shaped as WooCommerce's Store API v1 writes them."""

from __future__ import annotations

import re
from decimal import Decimal
from html import escape
from typing import Any

from serumscope.demo.catalog import stable_number
from serumscope.demo.pages import CURRENCY_SYMBOLS, description_with_ingredients


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def minor_units(amount: str) -> str:
    return str(int(Decimal(amount) * 100))


def product_id(product: dict[str, Any]) -> int:
    return product.get("id") or stable_number("woo:" + product["slug"], 1000, 90000)


def variation_id(product: dict[str, Any], position: int) -> int:
    return stable_number(f"woo:{product['slug']}:{position}", 100000, 800000)


class StoreApiObjects:
    """Mixed into WooCommerceShop: ``self.config``, ``self.base_url`` and ``self.permalink`` are the shop's."""

    def prices(self, variants: list[dict[str, Any]]) -> dict[str, Any]:
        currency = self.config["currency"]
        cheapest = min(variants, key=lambda v: Decimal(v["price"]))
        regular = cheapest["compare_at_price"] or cheapest["price"]
        prices = {
            "price": minor_units(cheapest["price"]),
            "regular_price": minor_units(regular),
            "sale_price": minor_units(cheapest["price"]),
            "price_range": None,
            "currency_code": currency,
            "currency_symbol": CURRENCY_SYMBOLS.get(currency, currency),
            "currency_minor_unit": 2,
            "currency_decimal_separator": ".",
            "currency_thousand_separator": ",",
            "currency_prefix": CURRENCY_SYMBOLS.get(currency, ""),
            "currency_suffix": "",
        }
        if len(variants) > 1:
            amounts = sorted(Decimal(v["price"]) for v in variants)
            prices["price_range"] = {
                "min_amount": minor_units(str(amounts[0])),
                "max_amount": minor_units(str(amounts[-1])),
            }
        return prices

    def price_html(self, variants: list[dict[str, Any]]) -> str:
        currency = self.config["currency"]

        def amount(value: str) -> str:
            symbol = escape(CURRENCY_SYMBOLS.get(currency, currency))
            return (
                '<span class="woocommerce-Price-amount amount"><bdi>'
                f'<span class="woocommerce-Price-currencySymbol">{symbol}</span>'
                f"{Decimal(value):.2f}</bdi></span>"
            )

        if len(variants) > 1:
            low = min(variants, key=lambda v: Decimal(v["price"]))["price"]
            high = max(variants, key=lambda v: Decimal(v["price"]))["price"]
            return f"{amount(low)} &ndash; {amount(high)}"
        variant = variants[0]
        if variant["compare_at_price"]:
            return (
                f'<del aria-hidden="true">{amount(variant["compare_at_price"])}</del> '
                f"<ins>{amount(variant['price'])}</ins>"
            )
        return amount(variant["price"])

    def terms(self, names: list[str], kind: str) -> list[dict[str, Any]]:
        return [
            {
                "id": stable_number(f"{kind}:{name}", 10, 900),
                "name": name,
                "slug": slugify(name),
                "link": f"{self.base_url}/{kind}/{slugify(name)}/",
            }
            for name in names
        ]

    def attributes(self, product: dict[str, Any]) -> list[dict[str, Any]]:
        attributes = []
        for attribute in product.get("attributes", []):
            attributes.append(
                {
                    "id": 0,
                    "name": attribute["name"],
                    "taxonomy": None,
                    "has_variations": False,
                    "terms": [
                        {"id": 0, "name": value, "slug": slugify(value), "default": False}
                        for value in attribute["values"]
                    ],
                }
            )
        if len(product["variants"]) > 1:
            attributes.append(
                {
                    "id": 1,
                    "name": "Size",
                    "taxonomy": "pa_size",
                    "has_variations": True,
                    "terms": [
                        {
                            "id": stable_number("size:" + v["title"], 20, 900),
                            "name": v["title"],
                            "slug": slugify(v["title"]),
                            "default": n == 0,
                        }
                        for n, v in enumerate(product["variants"])
                    ],
                }
            )
        return attributes

    def product_object(self, product: dict[str, Any]) -> dict[str, Any]:
        variants = product["variants"]
        variable = len(variants) > 1
        in_stock = any(v["available"] for v in variants)
        pid = product_id(product)
        return {
            "id": pid,
            "name": product["title"],
            "slug": product["slug"],
            "parent": 0,
            "type": "variable" if variable else "simple",
            "variation": "",
            "permalink": self.permalink(product),
            "sku": product.get("sku", variants[0].get("sku", "")),
            "short_description": product.get("short_description", ""),
            "description": description_with_ingredients(product, heading_tag="h4"),
            "on_sale": any(v["compare_at_price"] for v in variants),
            "prices": self.prices(variants),
            "price_html": self.price_html(variants),
            "average_rating": "0",
            "review_count": 0,
            "images": [
                {
                    "id": stable_number(f"wimg:{product['slug']}:{n}", 1000, 90000),
                    "src": f"{self.base_url}/wp-content/uploads/2025/06/{image['file']}",
                    "thumbnail": f"{self.base_url}/wp-content/uploads/2025/06/{image['file']}",
                    "srcset": "",
                    "sizes": "",
                    "name": image["file"],
                    "alt": image.get("alt", ""),
                }
                for n, image in enumerate(product["images"])
            ],
            "categories": self.terms(
                product.get("categories", [product.get("product_type", "Skincare")]),
                "product-category",
            ),
            "tags": self.terms(product["tags"], "product-tag"),
            "brands": [],
            "attributes": self.attributes(product),
            "variations": [
                {
                    "id": variation_id(product, n),
                    "attributes": [{"name": "Size", "value": slugify(v["title"])}],
                }
                for n, v in enumerate(variants)
            ]
            if variable
            else [],
            "grouped_products": [],
            "has_options": variable,
            "is_purchasable": True,
            "is_in_stock": in_stock,
            "is_on_backorder": False,
            "low_stock_remaining": None,
            "stock_availability": {
                "text": "" if in_stock else "Out of stock",
                "class": "in-stock" if in_stock else "out-of-stock",
            },
            "sold_individually": False,
            "add_to_cart": {
                "text": "Add to cart" if not variable else "Select options",
                "description": f"Add to cart: “{product['title']}”",
                "url": f"?add-to-cart={pid}" if not variable else self.permalink(product),
                "minimum": 1,
                "maximum": 9999,
                "multiple_of": 1,
            },
            "extensions": {},
        }

    def variation_object(self, product: dict[str, Any], position: int) -> dict[str, Any]:
        variant = product["variants"][position]
        body = self.product_object(product)
        body.update(
            {
                "id": variation_id(product, position),
                "parent": product_id(product),
                "type": "variation",
                "variation": f"Size: {variant['title']}",
                "sku": variant.get("sku", ""),
                "on_sale": bool(variant["compare_at_price"]),
                "prices": self.prices([variant]),
                "price_html": self.price_html([variant]),
                "is_in_stock": variant["available"],
                "attributes": [],
                "variations": [],
                "has_options": False,
            }
        )
        return body
