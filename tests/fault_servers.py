"""Local shops that misbehave on purpose, for the crawler's bad-input tests (127.0.0.1 only).

``FaultShop`` serves a sitemap shop and a Shopify-style ``/products.json`` feed. In ``good`` mode every
page is fine; in ``faulty`` mode each product page fails in its own way (see ``FAULTS``), the feed is
truncated and the sitemap gains junk entries. ``closed`` mode answers robots.txt with ``Disallow: /``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = {
    "p1": "http 500",
    "p2": "http 503 with Retry-After: 1",
    "p3": "timeout",
    "p4": "connection reset",
    "p5": "invalid JSON-LD",
    "p6": "404, the product disappeared",
    "p7": "redirect loop",
    "p8": "oversize page",
    "p9": "non-UTF-8 page (windows-1252), fine in both modes",
}
OVERSIZE_BYTES = 300_000
JUNK_LOCS = [
    "not a url",
    "ftp://127.0.0.1/products/p1",
    "http://shop.invalid/products/x",
    "javascript:alert(1)",
]


def product(n: str) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": f"Test Vitamin C Serum {n.upper()}",
        "brand": {"@type": "Brand", "name": "Faultline"},
        "sku": n.upper(),
        "description": f"A 15% vitamin C serum, number {n}, in an amber glass dropper.",
        "offers": {
            "@type": "Offer",
            "price": "21.50",
            "priceCurrency": "USD",
            "availability": "https://schema.org/InStock",
        },
    }


def product_page(n: str, broken_json_ld: bool = False, title: str | None = None) -> str:
    data = product(n)
    if title:
        data["name"] = title
    script = json.dumps(data)
    if broken_json_ld:
        script = script[: len(script) // 2] + ' "oops": ,,}'
    return f"""<!doctype html><html><head><meta charset="{{charset}}">
<title>{data["name"]}</title>
<script type="application/ld+json">{script}</script></head>
<body><main><h1>{data["name"]}</h1><p class="price">$21.50</p>
<div class="product-description"><p>{data["description"]}</p>
<h3>Ingredients</h3><p>Aqua, Ascorbic Acid, Glycerin, Ferulic Acid, Tocopherol</p></div>
</main></body></html>"""


class FaultShop:
    def __init__(self, mode: str = "good", feed_ignores_page: bool = False) -> None:
        self.mode = mode
        self.feed_ignores_page = feed_ignores_page
        self.log: list[tuple[float, str]] = []
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(
                self, status: int, body: bytes, content_type: str, headers: dict | None = None
            ):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                shop.log.append((time.monotonic(), self.path))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    shop.respond(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops connections when the crawler opens 16

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultShop:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests_for(self, path: str) -> list[float]:
        return [t for t, p in self.log if p == path]

    def respond(self, handler) -> None:
        path = handler.path
        faulty = self.mode == "faulty"
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            rules = "Disallow: /" if self.mode == "closed" else "Disallow: /private/"
            body = f"User-agent: *\n{rules}\nSitemap: {self.base_url}/sitemap.xml\n"
            return handler.send(200, body.encode(), "text/plain")
        if path == "/sitemap.xml":
            locs = [f"{self.base_url}/products/p{i}" for i in range(1, 10)]
            if faulty:
                locs += JUNK_LOCS
            rows = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
            body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'
            return handler.send(200, body.encode(), "application/xml")
        if path.startswith("/products.json"):
            last_page = "page=2" in path and not self.feed_ignores_page
            feed = {"products": [] if last_page else [self.feed_product()]}
            body = json.dumps(feed).encode()
            if faulty:
                body = body[: len(body) // 2]
            return handler.send(200, body, "application/json")
        if path.startswith("/products/") and path.endswith(".json"):
            body = json.dumps({"product": {"variants": [{"price_currency": "USD"}]}}).encode()
            return handler.send(200, body, "application/json")
        if path.startswith("/loop/"):
            return handler.send(302, b"", html, {"Location": f"{self.base_url}/products/p7"})
        if not path.startswith("/products/p"):
            return handler.send(404, b"not found", html)
        n = path.removeprefix("/products/")
        if n == "p9":
            page = product_page(n, title="Crème Vitamin C Sérum P9").replace(
                "{charset}", "windows-1252"
            )
            return handler.send(200, page.encode("cp1252"), "text/html; charset=windows-1252")
        if not faulty:
            return handler.send(200, product_page(n).replace("{charset}", "utf-8").encode(), html)
        if n == "p1":
            return handler.send(500, b"internal error", html)
        if n == "p2":
            return handler.send(503, b"busy", html, {"Retry-After": "1"})
        if n == "p3":
            time.sleep(3)
            return handler.send(200, product_page(n).replace("{charset}", "utf-8").encode(), html)
        if n == "p4":
            handler.connection.shutdown(2)
            handler.close_connection = True
            return None
        if n == "p5":
            page = product_page(n, broken_json_ld=True).replace("{charset}", "utf-8")
            return handler.send(200, page.encode(), html)
        if n == "p6":
            return handler.send(404, b"gone", html)
        if n == "p7":
            return handler.send(301, b"", html, {"Location": f"{self.base_url}/loop/a"})
        if n == "p8":
            page = (
                product_page(n).replace("{charset}", "utf-8")
                + "<!--"
                + "x" * OVERSIZE_BYTES
                + "-->"
            )
            return handler.send(200, page.encode(), html)
        return handler.send(404, b"not found", html)

    def feed_product(self) -> dict:
        return {
            "id": 9001,
            "title": "Feed Vitamin C Serum",
            "handle": "feed-serum",
            "body_html": "<p>20% vitamin C.</p><h3>Ingredients</h3><p>Aqua, Ascorbic Acid, Glycerin</p>",
            "vendor": "Faultline",
            "product_type": "Serum",
            "tags": ["vitamin c", "brand:Faultline Labs"],
            "variants": [
                {
                    "id": 1,
                    "title": "30 ml",
                    "option1": "30 ml",
                    "price": "19.00",
                    "sku": "F-30",
                    "available": True,
                    "compare_at_price": None,
                }
            ],
            "images": [{"alt": "Feed serum bottle"}],
            "options": [{"name": "Size", "values": ["30 ml"]}],
        }
