"""Conditional requests for product pages: ask "changed since?" and skip the page when it was not.

For requests marked ``meta["product_page"] = True`` this downloader middleware sends the ETag
(``If-None-Match``) and Last-Modified (``If-Modified-Since``) the page answered with last time, from
the ``page_validators`` table. A ``304 Not Modified`` means the stored listing is still current: the
listing is marked seen by this run (``last_seen``, ``last_run_id``, so reconciling does not think it
gone) and the request is dropped (``incremental/not_modified`` in the crawl stats), sparing the
download, parsing, pipelines and re-evaluation. A 200 stores the page's new validators.

Only pages already linked to a stored listing get conditional headers (a 304 for a page we cannot
attribute would make its listing look gone), and a page's validators are kept only once it has
yielded a listing (a page that failed to parse is fetched in full next time). A 304 to a page whose
sitemap ``<lastmod>`` changed stores the new one (crawler/unchanged.py), so the next crawl need not
ask. Validators come from, and marks go to, the crawler's recrawl source (crawler/recrawl.py: the
store for a local crawl, where writes are batched and flushed when the spider closes; Redis and the
run's stream for a distributed crawl's worker). ``SERUMSCOPE_RUN_ID`` names the crawl_runs row
(without it, the run the crawler's recorder opened; without that, nothing is asked).
"""

from __future__ import annotations

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from crawler.extract.listing import utc_now
from crawler.recrawl import Validators, recrawl_for


class NotModified(IgnoreRequest):
    """The server answered 304: the page (and its stored listing) did not change."""


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() or None if value else None


class ConditionalRequestMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        self.recrawl = None
        self.run_id: int | None = None
        self.validators: dict[str, Validators] = {}
        self.unconfirmed: dict[str, tuple[str | None, str | None]] = {}
        self.pending_seen: list[str] = []
        self.pending_validators: dict[str, Validators] = {}
        # (key, listing, version) of product pages answering 304 to a new change signal
        self.pending_sources: list[tuple[str, str, str]] = []
        self.shop = ""

    @classmethod
    def from_crawler(cls, crawler):
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.item_scraped, signal=signals.item_scraped)
        return middleware

    def _run_id(self) -> int | None:
        configured = self.crawler.settings.get("SERUMSCOPE_RUN_ID")
        if configured:
            return int(configured)
        recorder = getattr(self.crawler, "serumscope_recorder", None)
        run_id = getattr(recorder, "run_id", None)
        return int(run_id) if run_id else None

    def spider_opened(self, spider) -> None:
        self.recrawl = recrawl_for(self.crawler)
        if self.recrawl is None:
            return
        self.shop = getattr(spider, "shop_name", spider.name)
        # Only pages whose listing is stored: a 304 must have something to vouch for.
        self.validators = self.recrawl.validators(self.shop)

    def process_request(self, request: Request, spider=None):
        if not request.meta.get("product_page") or request.method != "GET":
            return None
        known = self.validators.get(request.url)
        if known is None:
            return None
        if self.run_id is None:
            self.run_id = self._run_id()
            if self.run_id is None:
                return None
        etag, last_modified, listing_id = known
        if etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = etag
        if last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = last_modified
        request.meta["incremental_listing_id"] = listing_id
        return None

    def pace_shop_by(self, request: Request, response: Response) -> None:
        """Let AutoThrottle learn the shop's pace from a 304 too. It lowers its delay only on a 200
        (error pages are small and quick, and would speed it up against a failing shop), so a
        re-crawl answered mostly by 304s kept the delay its first few answers left (a 600-page
        shop answering in 10 ms: 53 s to re-crawl, 15 s to crawl). A 304 to our own conditional
        request is the shop's normal answer: it is told to AutoThrottle as one."""
        self.crawler.signals.send_catch_log(
            signal=signals.response_downloaded,
            response=response.replace(status=200),
            request=request,
            spider=self.crawler.spider,
        )

    def process_response(self, request: Request, response: Response, spider=None):
        if self.recrawl is None or not request.meta.get("product_page"):
            return response
        listing_id = request.meta.get("incremental_listing_id")
        stats = self.crawler.stats
        if response.status == 304 and listing_id:
            stats.inc_value("incremental/not_modified")
            self.pending_seen.append(listing_id)
            if source := request.meta.get("source"):
                # the page is as it was read: its new change signal stands for it next time
                self.pending_sources.append((source["key"], listing_id, source["version"]))
            self._maybe_flush()
            self.pace_shop_by(request, response)
            # A 304 is not a failed request: without an errback the engine drops it silently
            # instead of having the spider record it in crawl_errors.
            request.errback = None
            raise NotModified(f"not modified since the last crawl: {request.url}")
        if response.status == 200:
            etag = _header(response, b"ETag")
            last_modified = _header(response, b"Last-Modified")
            previous = self.validators.get(request.url)
            if previous:
                stats.inc_value("incremental/modified")
            if etag or last_modified:
                # Kept only once the page has given a stored listing (item_scraped): validators of
                # a page that failed to parse would turn its next fetch into a 304 over stale data.
                self.unconfirmed[request.url] = (etag, last_modified)
        return response

    def item_scraped(self, item, response, spider) -> None:
        if response is None or not response.meta.get("product_page"):
            return
        listing_id = item.get("id") if hasattr(item, "get") else None
        validators = self.unconfirmed.pop(response.url, None)
        if not listing_id or validators is None:
            return
        known = self.validators.get(response.url)
        if known is None or known != (*validators, listing_id):
            self.pending_validators[response.url] = (*validators, listing_id)
            self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self.pending_seen) + len(self.pending_validators) >= self.recrawl.batch:
            self.flush()

    def flush(self) -> None:
        if self.recrawl is None or not (self.pending_seen or self.pending_validators):
            return
        now = utc_now()
        seen, self.pending_seen = self.pending_seen, []
        sources, self.pending_sources = self.pending_sources, []
        validators, self.pending_validators = self.pending_validators, {}
        self.recrawl.record(
            self.run_id or self._run_id(),
            self.shop,
            seen,
            [(self.shop, key, listing, version, now) for key, listing, version in sources],
            validators,
        )
        self.validators.update(validators)

    def spider_closed(self, spider, reason) -> None:
        self.flush()
