"""Sitemaps + schema.org product pages: robots.txt ``Sitemap:`` lines (or the configured sitemaps),
sitemap indexes followed, product URLs matching ``product_url_patterns`` fetched, and each page read with
extruct (JSON-LD, microdata, OpenGraph) plus visible HTML for what structured data lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from scrapy.http import Request, Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.extract.listing import utc_now
from crawler.extract.page import parse_page, product_from_page
from crawler.platforms.base import ShopSpider


def url_key(url: str) -> str:
    """A page's id when the shop gives none: its path and query, the same whatever host serves it."""
    parsed = urlparse(url)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


class SitemapSpider(ShopSpider):
    name = "sitemap"
    platform = "sitemap"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product_patterns = [
            re.compile(p) for p in self.shop_config.get("product_url_patterns", [])
        ]
        self.seen_sitemaps: set[str] = set()
        self.seen_products: set[str] = set()

    def start_shop(self) -> Iterator[Request]:
        sitemaps = self.shop_config.get("sitemap_urls")
        if sitemaps:
            for url in sitemaps:
                yield self.sitemap_request(url)
        else:
            yield Request(
                f"{self.base_url}/robots.txt",
                callback=self.parse_robots,
                errback=self.on_request_error,
            )

    def sitemap_request(self, url: str) -> Request:
        return Request(url, callback=self.parse_sitemap, errback=self.on_request_error)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
        if not urls:
            urls = [f"{self.base_url}/sitemap.xml"]
        for url in urls:
            yield self.sitemap_request(url)

    def is_usable_url(self, url: str) -> bool:
        parsed = urlparse(url)
        return (
            parsed.scheme in ("http", "https")
            and bool(parsed.hostname)
            and parsed.hostname in self.allowed_domains
            and not any(c.isspace() for c in url)
        )

    def is_product_url(self, url: str) -> bool:
        return not self.product_patterns or any(p.search(url) for p in self.product_patterns)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        body = response.body
        if gzip_magic_number(response):
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = Sitemap(body)
            entries = list(sitemap)
        except Exception as error:
            self.record_error(
                response.url, "parse", f"unreadable sitemap: {error}", response.status
            )
            return
        if sitemap.type not in ("sitemapindex", "urlset"):
            self.record_error(
                response.url, "parse", f"not a sitemap (root <{sitemap.type}>)", response.status
            )
            return
        per_index = self.settings.getint("SERUMSCOPE_SITEMAPS_PER_INDEX")
        if sitemap.type == "sitemapindex" and per_index and len(entries) > per_index:
            self.reached_limit(
                response.url,
                f"sitemap index lists {len(entries)} sitemaps: the first "
                f"SERUMSCOPE_SITEMAPS_PER_INDEX = {per_index} followed",
            )
            entries = entries[:per_index]
        for entry in entries:
            loc = (entry.get("loc") or "").strip()
            if not self.is_usable_url(loc):
                self.record_error(response.url, "junk-url", f"sitemap entry skipped: {loc[:200]!r}")
                continue
            if sitemap.type == "sitemapindex":
                if loc not in self.seen_sitemaps:
                    self.seen_sitemaps.add(loc)
                    yield self.sitemap_request(loc)
            elif self.is_product_url(loc) and loc not in self.seen_products:
                self.seen_products.add(loc)
                # dont_filter: a redirect back to this URL must count towards the redirect limit
                # (and be reported), not vanish in the duplicate filter.
                yield Request(
                    loc,
                    dont_filter=True,
                    callback=self.parse_product,
                    errback=self.on_request_error,
                    meta={"product_page": True},
                )

    def parse_product(self, response: Response) -> Iterator[Any]:
        if not hasattr(response, "text"):
            self.record_error(response.url, "parse", "not an HTML page", response.status)
            return
        page = parse_page(response.body, response.url, response.encoding)
        for problem in page.errors:
            self.record_error(response.url, "parse", problem, response.status)
        try:
            page = self.pre_process_data(page, response)
            fields = product_from_page(page)
        except Exception as error:  # a page no parser foresaw: record it, crawl on
            self.record_error(
                response.url, "parse", f"unreadable product page: {error!r}", response.status
            )
            return
        if fields is None:
            self.crawler.stats.inc_value("serumscope/pages_without_product")
            return
        canonical = fields.pop("canonical_url")
        yield from self.finish_listing(
            response,
            page,
            {"_degraded": bool(page.errors)},
            url=canonical,
            canonical_id=url_key(canonical),
            fields=fields,
            provenance=fields.pop("provenance"),
            variants=fields.get("variants", []),
            fetched_at=utc_now(),
        )
