"""Shops that attack the crawler on purpose (127.0.0.1 only), and a way to crawl them and measure the
crawl: wall time and the crawl process's peak memory.

``HostileShop(routes)`` answers each request from the first route whose path prefix matches: a
function ``(path, query) -> Reply``. Replies may stream their body in chunks without a
Content-Length, as a server that does not know (or lies about) its size does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from crawler import settings as crawler_settings
from serumscope.child_process import PeakMemory, serumscope_command

FAST = [
    "-s", "DOWNLOAD_TIMEOUT=3", "-s", "RETRY_TIMES=0", "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
]  # fmt: skip
INGREDIENTS = (
    "<p>A 15% vitamin C serum in an amber glass dropper.</p>"
    "<h3>Ingredients</h3><p>Aqua, Ascorbic Acid, Glycerin, Ferulic Acid</p>"
)


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: object, **headers: str) -> Reply:
        return cls(200, json.dumps(data).encode(), headers=headers)

    @classmethod
    def html(cls, text: str, status: int = 200) -> Reply:
        return cls(status, text.encode(), "text/html; charset=utf-8")


Route = Callable[[str, dict[str, list[str]]], Reply]


class HostileShop:
    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = routes or {}
        self.log: list[str] = []
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                shop.log.append(self.path)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.answer(shop.reply(self.path))

            def answer(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if isinstance(reply.body, bytes):
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.body:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

        class Server(ThreadingHTTPServer):
            request_queue_size = 128
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        robots = f"User-agent: *\nAllow: /\nSitemap: {self.base_url}/sitemap.xml\n".encode()
        self.routes.setdefault("/robots.txt", lambda path, q: Reply(200, robots, "text/plain"))

    def reply(self, raw_path: str) -> Reply:
        parts = urlsplit(raw_path)
        for prefix, route in sorted(self.routes.items(), key=lambda kv: -len(kv[0])):
            if parts.path.startswith(prefix):
                return route(parts.path, parse_qs(parts.query))
        return Reply(404, b"not found", "text/plain")

    def requests_to(self, prefix: str) -> int:
        return sum(1 for path in self.log if path.startswith(prefix))

    def __enter__(self) -> HostileShop:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def shopify_product(product_id: int, title: str = "Bright C Serum", **extra) -> dict:
    return {
        "id": product_id, "title": title, "handle": f"p{product_id}", "body_html": INGREDIENTS,
        "vendor": "Lumen", "product_type": "Serum", "tags": ["vitamin c"],
        "variants": [{"id": product_id * 10, "title": "30 mL", "price": "24.00",
                      "available": True}],
        **extra,
    }  # fmt: skip


def shopify_routes(pages: Callable[[int], list[dict]]) -> dict[str, Route]:
    """A Shopify shop whose ``products.json`` page N lists ``pages(N)``, priced in USD."""
    currency = {"product": {"variants": [{"price_currency": "USD"}]}}
    return {
        "/products.json": lambda path, q: Reply.json({"products": pages(int(q["page"][0]))}),
        "/products/": lambda path, q: Reply.json(currency),
    }


def product_page(name: str, extra_html: str = "") -> str:
    """A schema.org product page; ``name`` goes into the JSON-LD as it is (already JSON-escaped)."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><script type="application/ld+json">'
        '{"@context": "https://schema.org", "@type": "Product", "name": "' + name + '",'
        ' "brand": {"@type": "Brand", "name": "Lumen"}, "sku": "S1",'
        ' "description": "A 15% vitamin C serum in an amber glass dropper.",'
        ' "offers": {"@type": "Offer", "price": "21.50", "priceCurrency": "USD"}}'
        "</script></head><body><h1>Serum</h1>" + INGREDIENTS + extra_html + "</body></html>"
    )


def sitemap(locs: Iterable[str], index: bool = False) -> Reply:
    tag, root = ("sitemap", "sitemapindex") if index else ("url", "urlset")
    rows = "".join(f"<{tag}><loc>{loc}</loc></{tag}>" for loc in locs)
    body = f'<?xml version="1.0"?><{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</{root}>'
    return Reply(200, body.encode(), "application/xml")


def sites_file(folder: Path, *shops: tuple[str, str, str], extra: str = "") -> Path:
    """A sites file with one [[shop]] per (name, platform, base_url)."""
    path = folder / "sites.toml"
    path.write_text(
        "\n".join(
            f'[[shop]]\nname = "{name}"\nplatform = "{platform}"\nbase_url = "{url}"\n{extra}'
            for name, platform, url in shops
        )
    )
    return path


def pipelines_with(extra: dict[str, int]) -> str:
    """An ITEM_PIPELINES setting (for -s) of the project's pipelines plus ``extra`` (dotted path ->
    order), e.g. a pipeline from tests/hostile_pipelines.py."""
    return "ITEM_PIPELINES=" + json.dumps({**crawler_settings.ITEM_PIPELINES, **extra})


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_measured(args: list[str], timeout: float = 120) -> Measured:
    """Run ``serumscope ARGS`` (tests/ importable, for hostile pipelines) and measure it: wall time
    and the peak resident memory of the process (its VmHWM, in MB). Killed at ``timeout``.

    Not wait4's ru_maxrss: Linux carries into the child the resident size of the process that forked
    it (this test run, hundreds of MB late in the suite), so it measured pytest, not serumscope."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [*serumscope_command(), *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        timer = threading.Timer(timeout, lambda: process.send_signal(signal.SIGKILL))
        timer.start()
        peak = PeakMemory(process.pid)
        peak.start()
        try:
            _, status, _ = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            peak.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Measured(
            process.returncode,
            out.read().decode(),
            err.read().decode(),
            seconds,
            peak.mb,
        )
