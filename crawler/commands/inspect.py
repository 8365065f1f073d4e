"""``scrapy inspect URL``: the listing a crawl would store for one product, read by the platform
spider itself (``-a product_url``) and passed through the crawl's pipelines, except the store."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands import UNREACHABLE_KINDS, Crawl, Findings, probe_settings, run_in_turn
from crawler.platforms.shopify import PRODUCT_PATH, ShopifySpider
from crawler.platforms.sitemap import SitemapShopSpider
from crawler.platforms.woocommerce import API_PATH, WooCommerceSpider

SHOP_NAME = "inspect"


def spiders_for(url: str) -> list[type]:
    """The spiders that may read a product URL, in the order they are tried: a ``/products/<handle>``
    page may be Shopify's (read from its .json) or any shop's product page."""
    path = urlparse(url).path
    if API_PATH in path:
        return [WooCommerceSpider]
    if PRODUCT_PATH.match(path):
        return [ShopifySpider, SitemapShopSpider]
    return [SitemapShopSpider]


def outcome(url: str, findings: Findings) -> dict[str, Any]:
    """``{"listing": ...}`` with the problems met on the way as ``page_errors``, or ``{"error": ...}``
    (``"unreachable": true`` when nothing answered)."""
    if findings.listings:
        listing = findings.listings[0]
        listing["page_errors"] = [error["message"] for error in findings.errors]
        return {"listing": listing}
    parsed = urlparse(url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    refused = findings.first("robots")
    if refused:
        return {
            "error": f"{refused['url']}: disallowed by {base}/robots.txt, "
            "so serumscope does not fetch it"
        }
    unreachable = findings.unreachable
    if unreachable:
        return {"error": f"cannot reach {base}: {unreachable['message']}", "unreachable": True}
    if findings.errors:
        error = findings.errors[0]
        return {"error": f"{error['url']}: {error['message']}"}
    return {"error": f"{url}: no product found on the page"}


async def inspect(crawl: Crawl, url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    shop = {"name": SHOP_NAME, "base_url": f"{parsed.scheme}://{parsed.netloc}"}
    for spider_class in spiders_for(url):
        findings = await crawl(
            spider_class,
            shop_config={**shop, "platform": spider_class.name},
            product_url=url,
        )
        if findings.listings or findings.first("robots", *UNREACHABLE_KINDS):
            break
    return outcome(url, findings)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "<product URL>"

    def short_desc(self) -> str:
        return "Print, as JSON, the listing a crawl would store for one product URL"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one product URL")
        run_in_turn(probe_settings(self.settings), lambda crawl: inspect(crawl, args[0]))
