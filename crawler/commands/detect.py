"""``scrapy detect URL``: which platform spider reads a shop. Each is run on the shop in turn (Shopify,
the WooCommerce Store API, then robots.txt sitemaps and product pages), closed as soon as it has read
enough listings; prints the platform and the sites-file table that crawls the shop, as JSON."""

from __future__ import annotations

import argparse
import re
from typing import Any
from urllib.parse import urlparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands import Crawl, probe_settings, run_in_turn
from crawler.platforms.base import shop_name_from_url
from crawler.platforms.shopify import ShopifySpider
from crawler.platforms.sitemap import SitemapShopSpider
from crawler.platforms.woocommerce import API_PATH, WooCommerceSpider

# Product pages read (with sitemaps and robots.txt) before the sitemap spider gives up, and the
# pages with structured data it wants to see before it suggests their URL prefixes.
SITEMAP_PAGES = 45
SITEMAP_PRODUCTS = 3


def has_structured_title(listing: dict[str, Any]) -> bool:
    """A product page whose title came from structured data, not from a guess at its HTML."""
    return listing["provenance"].get("title") not in (None, "html")


def url_prefix(url: str) -> str | None:
    segment = re.match(r"^/[^/]+/", urlparse(url).path)
    return segment.group(0) if segment else None


async def detect(crawl: Crawl, base: str) -> dict[str, Any]:
    name = shop_name_from_url(base)
    answers = {
        "shopify": f"{base}/products.json answers like Shopify",
        "woocommerce": f"{base}{API_PATH} answers like the WooCommerce Store API",
    }
    for spider_class in (ShopifySpider, WooCommerceSpider):
        shop = {"name": name, "platform": spider_class.name, "base_url": base}
        findings = await crawl(spider_class, enough=1, shop_config=shop)
        unreachable = findings.unreachable
        if unreachable:
            return {"error": f"cannot reach {base}: {unreachable['message']}", "unreachable": True}
        if findings.listings:
            return {
                "platform": shop["platform"],
                "notes": [answers[shop["platform"]]],
                "shop": shop,
            }
    shop = {"name": name, "platform": "sitemap", "base_url": base}
    findings = await crawl(
        SitemapShopSpider, enough=SITEMAP_PRODUCTS, counts=has_structured_title, shop_config=shop
    )
    notes = [f"sitemaps: named in {base}/robots.txt, else {base}/sitemap.xml"]
    prefixes = sorted(
        {
            url_prefix(listing["url"])
            for listing in findings.listings
            if has_structured_title(listing)
        }
        - {None}
    )
    if not prefixes:
        notes.append("no schema.org Product pages found in the sitemaps")
        return {"platform": None, "notes": notes, "shop": None}
    notes.append(f"schema.org Product pages under {', '.join(prefixes)}")
    return {
        "platform": "sitemap",
        "notes": notes,
        "shop": {**shop, "product_url_patterns": prefixes},
    }


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "<shop URL>"

    def short_desc(self) -> str:
        return "Print, as JSON, which platform spider reads a shop and its sites-file table"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one shop URL")
        parsed = urlparse(args[0])
        base = f"{parsed.scheme}://{parsed.netloc}"
        settings = probe_settings(self.settings)
        settings.set("CLOSESPIDER_PAGECOUNT", SITEMAP_PAGES, priority="cmdline")
        run_in_turn(settings, lambda crawl: detect(crawl, base))
