"""The HTTP plumbing shared by the demo shops: responses, conditional requests, one server per shop."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

# A 1x1 transparent PNG: product images exist (no 404s in a crawl log) but weigh nothing.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None


def json_response(
    data: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    last_modified: datetime | None = None,
) -> Response:
    body = json.dumps(data, ensure_ascii=False, indent=None).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8", headers or {}, last_modified)


def html_response(text: str, status: int = 200, last_modified: datetime | None = None) -> Response:
    return Response(status, text.encode("utf-8"), "text/html; charset=utf-8", {}, last_modified)


def text_response(text: str, content_type: str, last_modified: datetime | None = None) -> Response:
    return Response(200, text.encode("utf-8"), f"{content_type}; charset=utf-8", {}, last_modified)


def not_found_page(title: str = "Page not found") -> Response:
    return html_response(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title></head><body><h1>{escape(title)}</h1><p>Sorry, we couldn't find that page.</p>"
        "<p><a href='/'>Back to the shop</a></p></body></html>",
        status=404,
    )


def image_response() -> Response:
    return Response(200, PIXEL_PNG, "image/png", {"Cache-Control": "max-age=86400"})


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def is_not_modified(headers: Any, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


class Shop(Protocol):
    base_url: str

    def respond(self, path: str, query: dict[str, list[str]]) -> Response: ...


class ShopRequestHandler(BaseHTTPRequestHandler):
    server: ShopServer
    protocol_version = "HTTP/1.1"
    server_version = "serumscope-demo/1.0"
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the client's
    # delayed ACK of the headers (40 ms), on every request of a kept-alive connection.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def answer(self, send_body: bool) -> None:
        try:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            response = self.server.shop.respond(parts.path or "/", query)
        except Exception:  # a bug in a demo page must not take the shop down
            log.exception("demo shop failed on %s", self.path)
            response = html_response("<h1>Internal Server Error</h1>", status=500)
        etag = entity_tag(response.body)
        headers = {"ETag": etag, **response.headers}
        if response.last_modified is not None:
            headers["Last-Modified"] = format_datetime(response.last_modified, usegmt=True)
        if response.status == 200 and is_not_modified(self.headers, etag, response.last_modified):
            self.send_response(304)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class ShopServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, shop: Shop) -> None:
        super().__init__(("127.0.0.1", 0), ShopRequestHandler)
        self.shop = shop
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread = threading.Thread(target=self.serve_forever, name=f"demo-{self.url}")
        self.thread.daemon = True
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


class ServedShops:
    """Shops served each by its own ShopServer on 127.0.0.1, started and stopped together; a context
    manager. Subclasses say which shops, by name, in ``served()``."""

    servers: dict[str, ShopServer]

    def served(self) -> Iterable[tuple[str, Shop]]:
        raise NotImplementedError

    def start(self) -> Self:
        if self.servers:
            return self
        try:
            for name, shop in self.served():
                server = ShopServer(shop)
                shop.base_url = server.url
                server.start()
                self.servers[name] = server
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers = {}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
