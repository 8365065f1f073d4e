"""What every shop spider shares: the shop's configuration, named hooks, and error recording.

A shop spider is configured with one shop table of the sites file, passed as ``shop_config`` (by
``crawler.run.crawl``), as ``-a shop=NAME`` (read from the sites file) or as ``-a base_url=URL``.
With ``-a product_url=URL`` it reads that one product instead of the whole shop (``scrapy inspect``).

Hooks a custom spider may override (all optional):

- ``pre_process_data(data, response)`` — tidy the raw data (a feed product dict, or a parsed page) before
  fields are read; return the data to use.
- ``post_process_item(item, response, data)`` — a generator yielding 0..n listings for each listing
  built; the default yields the item unchanged.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import urlparse

import scrapy
from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from crawler.extract.listing import make_listing
from crawler.middlewares import (
    DownloadDropped,
    ForbiddenByRobots,
    OffsiteRequest,
    RedirectRefused,
)
from crawler.sites import DEFAULT_SITES, SitesError, load_sites, validate_shop
from crawler.summary import LIMITS_STAT, shop_summary
from crawler.unchanged import UnchangedProducts


def shop_name_from_url(url: str) -> str:
    parsed = urlparse(url)
    return re.sub(r"[^a-z0-9]+", "-", f"{parsed.hostname}-{parsed.port or ''}".lower()).strip("-")


BYTES_META = "serumscope_bytes_received"
EXPECTED_BYTES_META = "serumscope_bytes_expected"

CONNECTION_ERRORS = (
    ConnectionRefusedError,
    ConnectionLost,
    ConnectionDone,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    ResponseDataLossError,
    ResponseFailed,
    ResponseNeverReceived,
)
REFUSALS = (
    (ForbiddenByRobots, "robots"),
    (OffsiteRequest, "offsite"),
    (RedirectRefused, "redirect"),
    (IgnoreRequest, "ignored"),
)


def classify_failure(failure: Failure, maxsize: int = 0) -> tuple[str, int | None, str]:
    """(kind, HTTP status, message) for a failed request, in the words crawl_errors uses.
    ``maxsize`` (DOWNLOAD_MAXSIZE) tells a download cancelled for its size (the bytes received, or
    the Content-Length announced, counted in the request's meta) from another cancelled one."""
    error = failure.value
    message = str(error) or type(error).__name__
    if isinstance(error, HttpError):
        return "http", error.response.status, f"HTTP {error.response.status}"
    if isinstance(error, (TimeoutError, TCPTimedOutError, DownloadTimeoutError)):
        return "timeout", None, message
    if isinstance(error, (DNSLookupError, CannotResolveHostError)):
        return "dns", None, message
    if isinstance(error, CONNECTION_ERRORS):
        meta = failure.request.meta if getattr(failure, "request", None) else {}
        received, expected = meta.get(BYTES_META, 0), meta.get(EXPECTED_BYTES_META, 0)
        if maxsize and max(received, expected) > maxsize:
            said = f"received {received}" if received > maxsize else f"announced {expected}"
            return "oversize", None, f"{said} bytes, more than DOWNLOAD_MAXSIZE {maxsize}"
        if isinstance(error, (ResponseFailed, ResponseNeverReceived)):
            reasons = getattr(error, "reasons", None) or []
            message = "; ".join(str(r.value) or type(r.value).__name__ for r in reasons) or message
        return "connection", None, message
    for refusal, kind in REFUSALS:
        if isinstance(error, refusal):
            return kind, None, message
    return "error", None, f"{type(error).__name__}: {message}"


class ShopSpider(scrapy.Spider):
    """Base for platform spiders; not run on its own."""

    platform: ClassVar[str] = ""
    default_settings_file: ClassVar[str | None] = None

    def __init__(
        self,
        shop_config: dict[str, Any] | None = None,
        shop: str | None = None,
        base_url: str | None = None,
        sites: str | None = None,
        product_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.product_url = product_url
        self.shop_config = self._resolve_shop(shop_config, shop, base_url, sites)
        self.shop_name: str = self.shop_config["name"]
        self.platform = self.shop_config.get("platform") or self.name
        self.base_url: str = self.shop_config["base_url"]
        hosts = {urlparse(self.base_url).hostname}
        hosts |= {urlparse(u).hostname for u in self.shop_config.get("sitemap_urls", [])}
        self.allowed_domains = sorted(h for h in hosts if h)
        self.seen_products: set[str] = set()
        self.unchanged: UnchangedProducts | None = None

    def _resolve_shop(self, shop_config, shop, base_url, sites) -> dict[str, Any]:
        if shop_config:
            return dict(shop_config)
        if shop:
            path = sites or DEFAULT_SITES
            for entry in load_sites(path):
                if entry["name"] == shop:
                    return entry
            raise SitesError(f"{path}: no enabled shop named {shop!r}")
        if base_url:
            config = {
                "name": shop_name_from_url(base_url),
                "platform": self.name,
                "base_url": base_url,
            }
            for key in ("collections", "search", "sitemap_urls", "product_url_patterns"):
                if kwargs_value := getattr(self, key, None):
                    config[key] = [kwargs_value] if isinstance(kwargs_value, str) else kwargs_value
            return validate_shop(config, f"spider {self.name} -a base_url", {self.name})
        raise SitesError(
            f"spider {self.name}: say which shop to crawl with -a shop=NAME or -a base_url=URL"
        )

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.count_bytes, signal=signals.bytes_received)
        crawler.signals.connect(spider.note_expected_size, signal=signals.headers_received)
        return spider

    def count_bytes(self, data: bytes, request: Request, spider=None) -> None:
        """Bytes received per request, so a download cancelled for its size is named ``oversize``."""
        request.meta[BYTES_META] = request.meta.get(BYTES_META, 0) + len(data)

    def note_expected_size(self, headers, body_length: Any, request: Request, spider=None) -> None:
        """The Content-Length announced, so a download refused for it is named ``oversize``
        (Twisted gives a marker string, not a number, when the length is unknown)."""
        if isinstance(body_length, int) and body_length > 0:
            request.meta[EXPECTED_BYTES_META] = body_length

    async def start(self) -> AsyncIterator[Any]:
        self.unchanged = UnchangedProducts(self.crawler, self.shop_name)
        requests = self.start_product(self.product_url) if self.product_url else self.start_shop()
        for request in requests:
            yield request

    def closed(self, reason: str) -> None:
        if self.unchanged is not None:
            stats = dict(self.crawler.stats.get_stats())
            self.unchanged.close(shop_summary({**stats, "finish_reason": reason}))

    def skip_unchanged(self, key: str, version: str | None, dated: bool = False) -> bool:
        """True when the shop says product ``key`` did not change since it was last read in full
        (crawler/unchanged.py); its listing then counts as seen."""
        return self.unchanged is not None and self.unchanged.skip(key, version, dated)

    def source_mark(self, key: str, version: str | None) -> dict[str, Any] | None:
        """The ``_source`` mark of a listing read in full: the store keeps its change signal."""
        return {"key": key, "version": version} if version is not None else None

    def start_shop(self) -> Iterator[Request]:
        raise NotImplementedError

    def start_product(self, url: str) -> Iterator[Request]:
        """The requests that read one product, given by the URL a user would paste."""
        raise NotImplementedError

    # hooks
    def pre_process_data(self, data: Any, response: Response) -> Any:
        return data

    def post_process_item(self, item: dict, response: Response, data: Any) -> Iterator[dict]:
        yield item

    def first_sighting(self, product: Any, url: str, page_ids: set[str] | None = None) -> bool:
        """True the first time a feed product is met. A product that is not an object or has no id
        cannot become a listing (its id would be "None"): it is recorded as a parse error. ``page_ids``
        collects the ids of one feed page, where an id met twice is recorded (``duplicate-id``)."""
        if not isinstance(product, dict):
            self.record_error(url, "parse", f"product is not an object: {str(product)[:80]!r}")
            return False
        product_id = product.get("id")
        if (
            product_id is None
            or isinstance(product_id, (dict, list))
            or not str(product_id).strip()
        ):
            name = str(product.get("title") or product.get("name") or "")[:80]
            self.record_error(url, "parse", f"product without id: {name!r}")
            return False
        key = str(product_id).strip()
        if key in self.seen_products:
            # The same product in two feeds (a collection and the catalogue) is normal; the same id
            # twice on one page is the shop's error, and all but the first are not stored.
            if page_ids is not None and key in page_ids:
                name = str(product.get("title") or product.get("name") or "")[:80]
                self.record_error(
                    url, "duplicate-id", f"product id {key} again on this page: {name!r} not stored"
                )
            return False
        self.seen_products.add(key)
        if page_ids is not None:
            page_ids.add(key)
        return True

    def reached_limit(self, url: str, message: str) -> None:
        """One of the crawl limits of crawler/settings.py stopped (part of) the crawl: the shop is
        ``partial`` and the reason is shown in the end table and stored."""
        limits = self.crawler.stats.get_value(LIMITS_STAT) or []
        self.crawler.stats.set_value(LIMITS_STAT, [*limits, message])
        self.record_error(url, "limit", message)

    def count_unreadable_price(self, raw: Any, parsed: str | None) -> None:
        """A price the shop gave that is no price ("1e999999", "NaN") counts as an invalid field."""
        if raw not in (None, "") and parsed is None:
            self.crawler.stats.inc_value("serumscope/fields_invalid/price")

    def finish_listing(
        self, response: Response, data: Any, marks: dict[str, Any] | None = None, **parts: Any
    ) -> Iterator[dict]:
        """Build the listing of docs/schema.md from its parts, then hand it to `post_process_item`.

        `marks` are pipeline-only keys such as `_unread` (fields the store must keep as stored).
        """
        listing = make_listing(shop=self.shop_name, platform=self.platform, **parts)
        listing.update({key: value for key, value in (marks or {}).items() if value})
        yield from self.post_process_item(listing, response, data)

    # errors
    @property
    def recorder(self):
        return getattr(self.crawler, "serumscope_recorder", None)

    def record_error(self, url: str, kind: str, message: str, status: int | None = None) -> None:
        self.crawler.stats.inc_value(f"serumscope/errors/{kind}")
        if self.recorder is not None:
            self.recorder.record_error(self, url, kind, message, status)
        self.logger.info("%s %s: %s", kind, url, message)

    def on_request_error(self, failure: Failure) -> None:
        if failure.check(DownloadDropped):
            return
        request = failure.request
        maxsize = request.meta.get("download_maxsize", self.settings.getint("DOWNLOAD_MAXSIZE"))
        kind, status, message = classify_failure(failure, maxsize)
        self.record_error(request.url, kind, message, status)
