"""HTML pieces the three demo shops share: page frame, money, ingredient sections."""

from __future__ import annotations

import json
from decimal import Decimal
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€"}


def money(amount: str, currency: str) -> str:
    return f"{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{Decimal(amount):.2f}"


def json_ld(data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def frame(title: str, body: str, *, shop_name: str, head: str = "") -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} | {escape(shop_name)}</title>
{head}
</head>
<body>
<header class="site-header"><a class="logo" href="/">{escape(shop_name)}</a>
<nav><a href="/">Home</a> <a href="/pages/about">About</a></nav></header>
<main>
{body}
</main>
<footer><p>&copy; 2026 {escape(shop_name)}. Prices include VAT where applicable.</p></footer>
</body>
</html>
"""


def ingredients_html(product: dict[str, Any], heading_tag: str = "h3") -> str:
    """The ingredient list the way shop descriptions carry it: a labelled paragraph or a heading."""
    ingredients = product.get("ingredients")
    if not ingredients:
        return ""
    heading = product.get("ingredients_heading", "Ingredients:")
    if heading.endswith(":"):
        return f"<p><strong>{escape(heading)}</strong> {escape(ingredients)}</p>"
    return f"<{heading_tag}>{escape(heading)}</{heading_tag}>\n<p>{escape(ingredients)}</p>"


def description_with_ingredients(product: dict[str, Any], heading_tag: str = "h3") -> str:
    parts = [product["description"].strip()]
    block = ingredients_html(product, heading_tag)
    if block:
        parts.append(block)
    if product.get("how_to_use"):
        parts.append(
            f"<{heading_tag}>How to use</{heading_tag}>\n<p>{escape(product['how_to_use'])}</p>"
        )
    return "\n".join(parts)


def availability_url(available: bool) -> str:
    return "https://schema.org/InStock" if available else "https://schema.org/OutOfStock"


def sitemap_urlset(entries: list[tuple[str, str | None]]) -> str:
    """A sitemaps.org ``<urlset>`` of (loc, lastmod or None)."""
    return _sitemap_xml("urlset", "url", entries)


def sitemap_index(entries: list[tuple[str, str | None]]) -> str:
    """A sitemaps.org ``<sitemapindex>`` of (loc, lastmod or None)."""
    return _sitemap_xml("sitemapindex", "sitemap", entries)


def _sitemap_xml(root: str, element: str, entries: list[tuple[str, str | None]]) -> str:
    rows = "\n".join(
        f"  <{element}>\n    <loc>{xml_escape(loc)}</loc>\n"
        + (f"    <lastmod>{lastmod}</lastmod>\n" if lastmod else "")
        + f"  </{element}>"
        for loc, lastmod in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{rows}\n</{root}>\n"
    )
