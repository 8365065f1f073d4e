"""The shops and helpers of tests/test_run_faults.py: small Shopify-format servers on 127.0.0.1 that a
test can slow down, make answer 500 or an empty feed, or change between runs, and ways to run
`serumscope run` against them and look into the database it writes."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from serumscope.child_process import serumscope_command

# Fast, deterministic crawls of local servers: no politeness delays, one quick retry.
FAST = [
    "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "RETRY_TIMES=1",
    "-s", "RETRY_BACKOFF_BASE=0.05",
    "-s", "DOWNLOAD_TIMEOUT=10",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
]  # fmt: skip

INGREDIENTS = "Aqua, Ascorbic Acid, Glycerin, Tocopherol, Ferulic Acid, Sodium Hyaluronate"


class ShopifyShop:
    """A Shopify-format shop: ``/products.json?limit=&page=``, ``/products/<handle>.json``.

    ``mode``: ``normal``, ``error`` (every URL answers 500) or ``empty`` (an empty products feed);
    feed pages in ``failing_pages`` answer 500.
    ``delay`` seconds are added to every answer; ``page_size`` caps the products per feed page.
    """

    def __init__(self, count: int, name: str = "testshop", page_size: int = 250):
        self.name = name
        self.page_size = page_size
        self.mode = "normal"
        self.failing_pages: set[int] = set()
        self.delay = 0.0
        self.requests = 0
        self.products = {n: self.make_product(n) for n in range(1, count + 1)}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def make_product(n: int) -> dict:
        return {
            "id": 1000 + n,
            "handle": f"vitamin-c-serum-{n}",
            "title": f"Brightening Vitamin C Serum No. {n} with 15% L-Ascorbic Acid",
            "vendor": "Test Lab",
            "product_type": "Serum",
            "tags": "vitamin c, serum, face",
            "body_html": (
                f"<p>A daily face serum, formula {n}, in an amber glass dropper bottle.</p>"
                f"<p><strong>Ingredients:</strong> {INGREDIENTS}</p>"
            ),
            "images": [{"alt": f"Serum {n} amber bottle"}],
            "options": [{"name": "Size"}],
            "variants": [
                {
                    "id": 50000 + n,
                    "title": "30 ml",
                    "option1": "30 ml",
                    "price": f"{20 + n % 30}.00",
                    "compare_at_price": None,
                    "available": True,
                    "sku": f"TL-{n}",
                    "price_currency": "USD",
                }
            ],
        }

    def set_price(self, n: int, price: str) -> None:
        self.products[n]["variants"][0]["price"] = price

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def sites_entry(self) -> str:
        return f'[[shop]]\nname = "{self.name}"\nplatform = "shopify"\nbase_url = "{self.url}"\n'

    def handler(self):
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                shop.requests += 1
                if shop.delay:
                    time.sleep(shop.delay)
                status, body = shop.answer(self.path)
                data = json.dumps(body).encode() if body is not None else b"Server error"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def answer(self, path: str) -> tuple[int, object]:
        parsed = urlparse(path)
        if self.mode == "error":
            return 500, None
        if parsed.path == "/robots.txt":
            return 404, {"error": "no robots.txt"}
        if parsed.path == "/products.json":
            query = parse_qs(parsed.query)
            page = int(query.get("page", ["1"])[0])
            if page in self.failing_pages:
                return 500, None
            limit = min(int(query.get("limit", ["30"])[0]), self.page_size)
            items = [] if self.mode == "empty" else list(self.products.values())
            return 200, {"products": items[(page - 1) * limit : page * limit]}
        if parsed.path.startswith("/products/") and parsed.path.endswith(".json"):
            handle = parsed.path.removeprefix("/products/").removesuffix(".json")
            for product in self.products.values():
                if product["handle"] == handle:
                    return 200, {"product": product}
        return 404, {"error": "not found"}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def write_sites(tmp_path: Path, *shops: ShopifyShop) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text("\n".join(shop.sites_entry() for shop in shops))
    return path


def run_command(sites: Path, db: Path) -> list[str]:
    return [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db), *FAST]


def serumscope_run(sites: Path, db: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(run_command(sites, db), capture_output=True, text=True, timeout=timeout)


def query(db: Path, sql: str, params=()) -> list[tuple]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(db: Path, sql: str, params=()):
    rows = query(db, sql, params)
    return rows[0][0] if rows else None


def wait_for(condition, timeout: float = 60, interval: float = 0.02) -> None:
    """Poll ``condition`` until true; a database or server not there yet counts as false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (sqlite3.OperationalError, OSError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {condition.__name__}")


def integrity(db: Path) -> str:
    return scalar(db, "PRAGMA integrity_check")


def latest_run(db: Path) -> dict:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else {}


def kill_run_when(process: subprocess.Popen, db: Path, condition, interval=0.02) -> int | None:
    """SIGKILL the run process once ``condition()`` holds; return the pid of its crawl child."""
    wait_for(condition, interval=interval)
    crawl_pid = scalar(db, "SELECT pid FROM crawl_runs ORDER BY id DESC LIMIT 1")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return crawl_pid
