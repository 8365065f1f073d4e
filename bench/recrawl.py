"""Re-crawl speed: a first `serumscope run` vs an unchanged re-run vs a re-run with 5% of prices changed.

Serves a sitemap shop of N product pages (the page generator of bench/crawl.py, ~20 KB each) from
memory on 127.0.0.1 with ETag / Last-Modified and 304 answers, then runs `serumscope run` three times
against one database:

1. first run: every page fetched, parsed, stored and evaluated (the baseline);
2. unchanged re-run: product pages answer 304, nothing is parsed or evaluated again;
3. 5% of the products get a new price, then a re-run: only those pages are downloaded again.

Prints each run's wall time with its phases, the re-runs as a share of the first (goal: unchanged
<= 30%), the floor of an unchanged re-run (a no-op Scrapy spider making the same conditional
requests), and checks that run 3 recorded exactly the changed prices in ``variant_history``.

    .venv/bin/python bench/recrawl.py [--pages 5000] [--changed 0.05]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve()
SERUMSCOPE = Path(sys.executable).with_name("serumscope")


def page_generator():
    """``build_site(pages, base) -> {path: bytes}`` from bench/crawl.py (one shop generator to keep)."""
    spec = importlib.util.spec_from_file_location("bench_crawl", HERE.with_name("crawl.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_site


class ConditionalShop:
    """Static files from memory; ETag + Last-Modified on every answer, 304 when the client has it."""

    def __init__(self, files: dict[str, bytes]):
        self.files: dict[str, tuple[bytes, str, str]] = {}
        self.counts = {"200": 0, "304": 0, "404": 0}
        for path, body in files.items():
            self.put(path, body, modified=time.time() - 86400)
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                entry = shop.files.get(self.path)
                if entry is None:
                    shop.counts["404"] += 1
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body, etag, modified = entry
                asked = self.headers.get("If-None-Match")
                if asked == etag or (
                    asked is None and self.headers.get("If-Modified-Since") == modified
                ):
                    shop.counts["304"] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                shop.counts["200"] += 1
                kind = (
                    "application/xml" if self.path.endswith(".xml") else "text/html; charset=utf-8"
                )
                if self.path.endswith(".txt"):
                    kind = "text/plain"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def put(self, path: str, body: bytes, modified: float | None = None) -> None:
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        self.files[path] = (body, etag, formatdate(modified or time.time(), usegmt=True))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


PRICE_IN_JSON_LD = re.compile(rb'"price": "(\d+\.\d\d)"')


def change_price(shop: ConditionalShop, path: str) -> tuple[str, str]:
    """Lower the product's price by 1.00 in its JSON-LD and visible HTML; return (old, new)."""
    body = shop.files[path][0]
    found = PRICE_IN_JSON_LD.findall(body)
    if len(found) != 1:
        raise SystemExit(f"{path}: expected one JSON-LD price, found {found}: page format changed?")
    old = found[0].decode()
    new = str(Decimal(old) - 1 if Decimal(old) > 2 else Decimal(old) + 1)
    changed = body.replace(f'"price": "{old}"'.encode(), f'"price": "{new}"'.encode())
    changed = changed.replace(f"${old}<".encode(), f"${new}<".encode())
    shop.put(path, changed)
    return old, new


def serumscope_run(sites: Path, db: Path, concurrency: int) -> tuple[float, dict]:
    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "ERROR",
    }
    command = [str(SERUMSCOPE), "run", "--sites", str(sites), "--db", str(db), "--quiet"]
    command += [x for key, value in settings.items() for x in ("-s", f"{key}={json.dumps(value)}")]
    started = time.monotonic()
    finished = subprocess.run(command, capture_output=True, text=True)
    wall = time.monotonic() - started
    if finished.returncode != 0:
        raise SystemExit(
            f"serumscope run exited {finished.returncode}:\n{finished.stdout}{finished.stderr}"
        )
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        run = dict(conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone())
    return wall, run


BARE_CONDITIONAL_SPIDER = """
import json, sys
from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess

validators = json.load(open(sys.argv[1]))

class Bare(Spider):
    name = "bare"
    custom_settings = {"HTTPERROR_ALLOW_ALL": True}

    async def start(self):
        for url, etag in validators.items():
            yield Request(url, headers={"If-None-Match": etag}, callback=self.page)

    def page(self, response):
        pass

process = CrawlerProcess(json.loads(sys.argv[2]))
crawler = process.create_crawler(Bare)
process.crawl(crawler)
process.start()
"""


def bare_conditional_fetch(shop: ConditionalShop, concurrency: int, folder: Path) -> float:
    """Wall seconds for a no-op Scrapy spider to ask every product page "changed since?" (the floor
    of an unchanged re-run: the same requests with nothing else)."""
    validators = {shop.base + p: v[1] for p, v in shop.files.items() if p.startswith("/products/")}
    (folder / "validators.json").write_text(json.dumps(validators))
    # Scrapy reads callbacks' source, so the spider runs from a file, not ``-c``.
    (folder / "bare_spider.py").write_text(BARE_CONDITIONAL_SPIDER)
    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
    }
    started = time.monotonic()
    subprocess.run(
        [sys.executable, str(folder / "bare_spider.py"), str(folder / "validators.json"),
         json.dumps(settings)],
        check=True,
    )  # fmt: skip
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of prices to change")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    # The generator needs the base URL before the server exists: render with a placeholder port.
    port_placeholder = "http://127.0.0.1:1"
    files = page_generator()(args.pages, port_placeholder)
    shop = ConditionalShop({})
    base = shop.base
    for path, body in files.items():
        shop.put(path, body.replace(port_placeholder.encode(), base.encode()), time.time() - 86400)
    shop.thread.start()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sites, db = Path(tmp) / "sites.toml", Path(tmp) / "recrawl.db"
        sites.write_text(
            f'[[shop]]\nname = "bench"\nplatform = "sitemap"\nbase_url = "{base}"\n'
            'product_url_patterns = ["/products/"]\n'
        )
        try:
            for label in ("first run", "unchanged re-run", f"{args.changed:.0%} prices changed"):
                expected: dict[str, tuple[str, str]] = {}
                if label.endswith("changed"):
                    products = sorted(p for p in shop.files if p.startswith("/products/"))
                    picked = random.Random(7).sample(products, round(len(products) * args.changed))
                    expected = {path: change_price(shop, path) for path in picked}
                before = dict(shop.counts)
                wall, run = serumscope_run(sites, db, args.concurrency)
                answers = {k: shop.counts[k] - before[k] for k in shop.counts}
                results.append((label, wall, run, answers, expected))
            with sqlite3.connect(db) as conn:
                last_crawl = results[-1][2]["crawl_run_id"]
                recorded = {
                    (url.removeprefix(base), old, new)
                    for url, old, new in conn.execute(
                        """SELECT l.url, c.old_price, c.new_price FROM variant_changes c
                           JOIN listings l ON l.id = c.listing_id
                           WHERE c.run_id = ? AND c.change = 'changed'""",
                        [last_crawl],
                    )
                }
                listings = conn.execute("SELECT count(*) FROM listings").fetchone()[0]
                history_rows = conn.execute("SELECT count(*) FROM variant_history").fetchone()[0]
            before = dict(shop.counts)
            bare_wall = bare_conditional_fetch(shop, args.concurrency, Path(tmp))
            bare_304 = shop.counts["304"] - before["304"]
        finally:
            shop.server.shutdown()

    first_wall = results[0][1]
    print(f"shop: {args.pages} product pages (~20 KB, JSON-LD), sitemap, ETag/Last-Modified, "
          f"concurrency {args.concurrency}; {listings} listings stored")  # fmt: skip
    for label, wall, run, answers, _ in results:
        timings = json.loads(run["timings"] or "{}")
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items() if k != "total")
        print(
            f"{label:<20} {wall:6.1f} s ({wall / first_wall:4.0%} of first)  [{phases}]  "
            f"HTTP 200: {answers['200']}, 304: {answers['304']}; evaluated {run['evaluated']}; "
            f"status {run['status']}"
        )
    print(
        f"{'bare Scrapy floor':<20} {bare_wall:6.1f} s ({bare_wall / first_wall:4.0%} of first)  "
        f"a no-op spider asking the same {bare_304} pages 'changed since?' (304s), nothing else"
    )
    unchanged_share = results[1][1] / first_wall
    print(f"goal unchanged re-run <= 30% of first: {'met' if unchanged_share <= 0.30 else 'NOT met'} "
          f"({unchanged_share:.0%})")  # fmt: skip
    expected = {(path, old, new) for path, (old, new) in results[-1][4].items()}
    exact = recorded == expected
    print(f"price changes: {len(expected)} made, {len(recorded)} recorded in variant_history by the "
          f"last run: {'exactly the changed prices' if exact else 'MISMATCH'}; "
          f"{history_rows} variant_history rows in all")  # fmt: skip
    if not exact:
        print(
            "  missing:",
            sorted(expected - recorded)[:5],
            " unexpected:",
            sorted(recorded - expected)[:5],
        )
        raise SystemExit(1)


if __name__ == "__main__":
    main()
