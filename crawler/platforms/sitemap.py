"""Sitemaps + schema.org product pages: robots.txt ``Sitemap:`` lines (or the configured sitemaps),
sitemap indexes followed, product URLs matching ``product_url_patterns`` fetched, and each page read with
extruct (JSON-LD, microdata, OpenGraph) plus visible HTML for what structured data lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlparse

from scrapy.http import Request, Response
from scrapy.spiders import SitemapSpider
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.extract.listing import utc_now
from crawler.extract.page import parse_page, product_from_page
from crawler.platforms.base import ShopSpider

MAX_LASTMOD = 64  # a W3C date-time is shorter: anything longer is no change signal


def url_key(url: str) -> str:
    """A page's id when the shop gives none: its path and query, the same whatever host serves it."""
    parsed = urlparse(url)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


class SitemapShopSpider(ShopSpider, SitemapSpider):
    """Scrapy's SitemapSpider for one shop: ``sitemap_rules`` send product URLs to
    ``parse_product``; ``sitemap_filter`` drops junk and off-site URLs (recorded), repeats, and an
    index's sitemaps beyond ``SERUMSCOPE_SITEMAPS_PER_INDEX``."""

    name = "sitemap"
    platform = "sitemap"
    sitemap_rules = [("", "parse_product")]  # product_url_patterns are applied in sitemap_filter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product_patterns = [
            re.compile(p) for p in self.shop_config.get("product_url_patterns", [])
        ]
        self.sitemap_urls = self.shop_config.get("sitemap_urls") or [f"{self.base_url}/robots.txt"]
        self.seen_sitemaps: set[str] = set()
        self.seen_products: set[str] = set()
        self.lastmods: dict[str, str] = {}  # product URL -> its <lastmod>, until it is requested
        self.current_sitemap = ""

    def start_shop(self) -> Iterator[Request]:
        for url in self.sitemap_urls:
            yield Request(url, callback=self._parse_sitemap, errback=self.on_request_error)

    def start_product(self, url: str) -> Iterator[Request]:
        yield self.product_request(Request(url, callback=self.parse_product))

    def product_request(self, request: Request, lastmod: str | None = None) -> Request:
        # dont_filter: a redirect back to this URL must count towards the redirect limit (and be
        # reported), not vanish in the duplicate filter.
        return request.replace(
            dont_filter=True,
            errback=self.on_request_error,
            meta={"product_page": True, "source": self.source_mark(request.url, lastmod)},
        )

    def _parse_sitemap(self, response: Response) -> Iterator[Request]:
        """Scrapy's, with the requests it makes given an errback (and product pages their meta),
        ``/sitemap.xml`` tried when robots.txt names no sitemap, and unreadable sitemaps recorded."""
        if response.url.endswith("/robots.txt") and not any(
            sitemap_urls_from_robots(response.body, base_url=response.url)
        ):
            yield Request(
                f"{self.base_url}/sitemap.xml",
                callback=self._parse_sitemap,
                errback=self.on_request_error,
            )
            return
        self.current_sitemap, self.filtered = response.url, False
        try:
            requests = list(super()._parse_sitemap(response))
        except Exception as error:
            self.record_error(
                response.url, "parse", f"unreadable sitemap: {error}", response.status
            )
            return
        if not self.filtered and not response.url.endswith("/robots.txt"):
            self.record_error(response.url, "parse", "not a sitemap", response.status)
        for request in requests:
            if request.callback == self.parse_product:
                lastmod = self.lastmods.pop(request.url, None)
                if self.skip_unchanged(request.url, lastmod, dated=True):
                    continue
                yield self.product_request(request, lastmod)
            else:
                yield request.replace(errback=self.on_request_error)

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

    def sitemap_filter(self, entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        self.filtered = True
        is_index = isinstance(entries, Sitemap) and entries.type == "sitemapindex"
        entries = list(entries)
        per_index = self.settings.getint("SERUMSCOPE_SITEMAPS_PER_INDEX")
        if is_index and per_index and len(entries) > per_index:
            self.reached_limit(
                self.current_sitemap,
                f"sitemap index lists {len(entries)} sitemaps: the first "
                f"SERUMSCOPE_SITEMAPS_PER_INDEX = {per_index} followed",
            )
            entries = entries[:per_index]
        seen = self.seen_sitemaps if is_index else self.seen_products
        for entry in entries:
            loc = (entry.get("loc") or "").strip()
            if not self.is_usable_url(loc):
                self.record_error(
                    self.current_sitemap, "junk-url", f"sitemap entry skipped: {loc[:200]!r}"
                )
            elif loc not in seen and (is_index or self.is_product_url(loc)):
                seen.add(loc)
                lastmod = entry.get("lastmod")
                if not is_index and isinstance(lastmod, str) and len(lastmod) <= MAX_LASTMOD:
                    self.lastmods[loc] = lastmod.strip()
                yield {**entry, "loc": loc}

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
            {"_degraded": bool(page.errors), "_source": response.meta.get("source")},
            url=canonical,
            canonical_id=url_key(canonical),
            fields=fields,
            provenance=fields.pop("provenance"),
            variants=fields.get("variants", []),
            fetched_at=utc_now(),
        )
