"""Downloader middlewares: retry with backoff that honours ``Retry-After``; off-site redirects refused;
requests that Scrapy refuses (robots.txt, off-site, too many redirects) refused with an exception of
their own type, so a spider's errback classifies them by type (``crawler.platforms.base``).

``OffsiteRedirectMiddleware``: a redirect to another host is refused before Scrapy follows it, as an
``offsite`` error the spider records. Scrapy's own offsite filter lets every ``dont_filter`` request
through (the sitemap spider's product pages are), so without it such a redirect was fetched.

Retry with backoff that honours ``Retry-After``.

Scrapy's RetryMiddleware (2.19) retries 429/5xx at once, ignoring ``Retry-After``. This subclass waits
before handing back the retry: the server's ``Retry-After`` (seconds or an HTTP date) when it sends one,
otherwise ``RETRY_BACKOFF_BASE * 2**attempt``, capped at ``RETRY_BACKOFF_MAX``. A server asking for a
longer wait than the cap is not retried; the response goes on to the spider's error handling.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message


class ForbiddenByRobots(IgnoreRequest):
    """robots.txt disallows the URL."""


class OffsiteRequest(IgnoreRequest):
    """The URL, or the target of its redirect, is not on the shop's hosts."""


class RedirectRefused(IgnoreRequest):
    """Scrapy stopped following redirects (too many, or a scheme it does not follow)."""


class DownloadDropped(IgnoreRequest):
    """A distributed worker stopped while the download waited for its shop's lease
    (``crawler.shop_limit``): dropped like the requests left in its scheduler, not a crawl error."""


class TypedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def process_request(self, request: Request, spider=None) -> None:
        try:
            await super().process_request(request)
        except IgnoreRequest as refused:
            raise ForbiddenByRobots(str(refused)) from refused


class TypedOffsiteMiddleware(OffsiteMiddleware):
    def process_request(self, request: Request, spider=None) -> None:
        try:
            super().process_request(request)
        except IgnoreRequest as refused:
            raise OffsiteRequest(str(refused)) from refused


class TypedRedirectMiddleware(RedirectMiddleware):
    def process_response(self, request: Request, response: Response, spider=None):
        try:
            return super().process_response(request, response)
        except IgnoreRequest as refused:
            raise RedirectRefused(str(refused)) from refused


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value, or None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _sleep(seconds: float) -> None:
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    def _delay(self, request: Request, response: Response | None) -> float | None:
        attempt = request.meta.get("retry_times", 0)
        if response is not None:
            wanted = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wanted is not None:
                return wanted if wanted <= self.backoff_max else None
        return min(self.backoff_base * (2**attempt), self.backoff_max)

    def _retry_request(self, request: Request, reason: str | Exception) -> Request | None:
        return get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
        )

    async def process_response(self, request: Request, response: Response, spider=None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        delay = self._delay(request, response)
        if delay is None:
            self.crawler.stats.inc_value("retry/retry_after_too_long")
            return response
        retry = self._retry_request(request, response_status_message(response.status))
        if retry is None:
            return response
        if delay > 0:
            self.crawler.stats.inc_value("retry/backoff_seconds", delay)
            await _sleep(delay)
        return retry

    async def process_exception(self, request: Request, exception: Exception, spider=None):
        if request.meta.get("dont_retry", False) or not isinstance(
            exception, self.exceptions_to_retry
        ):
            return None
        retry = self._retry_request(request, exception)
        if retry is None:
            return None
        delay = self._delay(request, None)
        if delay:
            await _sleep(delay)
        return retry


REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class OffsiteRedirectMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider=None):
        location = response.headers.get(b"Location")
        domains = getattr(self.crawler.spider, "allowed_domains", None)
        if response.status not in REDIRECT_STATUSES or not location or not domains:
            return response
        target = response.urljoin(location.decode("latin-1"))
        host = (urlparse(target).hostname or "").lower()
        if any(host == domain or host.endswith(f".{domain}") for domain in domains):
            return response
        raise OffsiteRequest(f"Filtered offsite redirect to {target[:200]!r}")
