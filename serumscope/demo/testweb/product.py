"""What a test-web shop says about a product (``PageProduct``), the layouts, and the HTML pieces
the pages share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from typing import Any

from evaluator.size import size_wording
from serumscope.demo.pages import availability_url, frame, money

SHOP_TITLE = "Test Web Beauty"


@dataclass
class PageProduct:
    slug: str
    title: str
    brand: str | None = None
    categories: list[str] = field(default_factory=list)
    description: str | None = None  # plain text; one paragraph a line
    ingredients: str | None = None  # as the shop wrote it (plain text, or HTML markup)
    size: str | None = None  # the size wording as the shop shows it ("1 oz/ 30 mL")
    price: str | None = None  # a decimal string ("24.50")
    currency: str = "USD"
    packaging: str | None = None  # a sentence about the bottle ("Comes in an amber glass bottle.")
    sku: str = ""


@dataclass(frozen=True)
class Layout:
    name: str
    platform: str  # sitemap | shopify | woocommerce
    about: str


LAYOUTS = {
    layout.name: layout
    for layout in (
        Layout("jsonld-offer", "sitemap", "JSON-LD Product with an Offer and a size; <details>"),
        Layout(
            "jsonld-no-offers", "sitemap", "JSON-LD without offers; price in HTML; 'Size:' li; tabs"
        ),
        Layout("microdata", "sitemap", "microdata only; specs table th/td; button accordion"),
        Layout("opengraph", "sitemap", "OpenGraph only; size in a <select>; ingredients heading"),
        Layout("plain-html", "sitemap", "no structured data; 'Size:' span; 'Ingredients:' inline"),
        Layout(
            "spec-dl", "sitemap", "no structured data; dl/dt/dd specs with size and ingredients"
        ),
        Layout("magento-specs", "sitemap", "JSON-LD offer; Magento specs table; description block"),
        Layout("swatches", "sitemap", "JSON-LD offer; size swatches (radios); accordions"),
        Layout(
            "title-size", "sitemap", "OpenGraph price; size only in the title; INCI in description"
        ),
        Layout("residue", "sitemap", "no structured data; 'SIZE 1 oz/ 30 mL•ITEM 1234567' residue"),
        Layout("description-inci", "sitemap", "JSON-LD only; its description holds size and INCI"),
        Layout(
            "shopify-theme", "sitemap", "a Shopify theme page: JSON-LD, variant radios, <details>"
        ),
        Layout(
            "shopify-options",
            "shopify",
            "products.json; size as the Size option; INCI in body_html",
        ),
        Layout(
            "shopify-body", "shopify", "products.json; 'Default Title'; size and INCI in body_html"
        ),
        Layout(
            "woo-short", "woocommerce", "Store API; size in the short description; INCI in long"
        ),
        Layout("woo-long", "woocommerce", "Store API; size and ingredients as product attributes"),
        Layout(
            "chrome-related",
            "sitemap",
            "no structured data; size in the title; promo badge, reviews and related products;"
            " a category page and a blog post in the sitemap",
        ),
        Layout(
            "chrome-money",
            "sitemap",
            "no structured data; price as money text after a promo badge; size picker; reviews and"
            " recommendations; a category page and a blog post in the sitemap",
        ),
    )
}

_HTML = re.compile(r"<(?:div|br|p|span|b|strong|ul|ol|li|em|i|h\d)\b[^>]*>", re.IGNORECASE)
_SIZE_LABEL = re.compile(r"(?i)^\s*(?:size|net\s+(?:wt\.?|weight|contents?))\s*:?\s*")


def paragraphs(text: str | None) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in (text or "").split("\n") if line.strip())


def ingredients_markup(text: str | None) -> str:
    """The ingredient list as a page shows it: markup the shop wrote stays markup."""
    if not text:
        return ""
    if _HTML.search(text):
        return text
    return "<br>".join(escape(line) for line in text.split("\n"))


def size_value(product: PageProduct) -> str | None:
    """The size as a label's value: the wording without a "Size:" label the source put before it."""
    if not product.size:
        return None
    return _SIZE_LABEL.sub("", product.size).strip() or None


def title_with_size(product: PageProduct) -> str:
    """The title with the size in it, the way marketplaces name products ("... 30ml")."""
    wording = size_wording(product.size or "")
    if not wording or size_wording(product.title):
        return product.title
    return f"{product.title} {wording}"


def description_text(product: PageProduct, *, with_packaging: bool = True) -> str:
    parts = [product.description or ""]
    if with_packaging and product.packaging:
        parts.append(product.packaging)
    return "\n".join(p for p in parts if p.strip())


def price_text(product: PageProduct) -> str:
    return money(product.price, product.currency) if product.price else ""


def price_number(product: PageProduct) -> str | None:
    return f"{Decimal(product.price):.2f}" if product.price else None


def breadcrumb_nav(product: PageProduct, base_url: str) -> str:
    items = ['<li><a href="/">Home</a></li>'] + [
        f'<li><a href="/collections/{i}">{escape(c)}</a></li>'
        for i, c in enumerate(product.categories)
    ]
    return f'<nav class="breadcrumb" aria-label="Breadcrumb"><ol>{"".join(items)}</ol></nav>'


def breadcrumb_json(product: PageProduct, base_url: str) -> dict[str, Any]:
    names = ["Home", *product.categories]
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": name, "item": f"{base_url}/c/{n}"}
            for n, name in enumerate(names, start=1)
        ],
    }


def product_json(
    product: PageProduct, url: str, *, offers: bool = True, size: bool = False,
    description: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "url": url,
        "image": [f"{url}.png"],
        "description": description if description is not None else description_text(product),
    }
    if product.brand:
        data["brand"] = {"@type": "Brand", "name": product.brand}
    if product.sku:
        data["sku"] = product.sku
    if size and size_value(product):
        data["size"] = size_value(product)
    if offers and product.price:
        data["offers"] = {
            "@type": "Offer",
            "price": price_number(product),
            "priceCurrency": product.currency,
            "availability": availability_url(True),
            "url": url,
        }
    return data


def details(summary: str, content: str, css: str = "product-accordion") -> str:
    return (
        f'<details class="{css}"><summary>{escape(summary)}</summary><div>{content}</div></details>'
    )


def page(product: PageProduct, body: str, head: list[str], title: str | None = None) -> str:
    return frame(title or product.title, body, shop_name=SHOP_TITLE, head="\n".join(head))
