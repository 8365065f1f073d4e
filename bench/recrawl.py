"""Re-crawl speed: a first `serumscope run` vs an unchanged re-run vs a re-run with 5% of prices changed.

Serves a sitemap shop of N product pages (the page generator of bench/crawl.py, ~20 KB each) from
memory on 127.0.0.1, the way a well-behaved shop does: a ``<lastmod>`` per product in the sitemap,
ETag / Last-Modified and 304 answers on the pages. Each round runs `serumscope run` (crawl, reconcile,
evaluate) three times against a fresh database, with the shipped settings except AutoThrottle (off,
so the figures measure serumscope, not a politeness delay) and the concurrency (32 for all three):

A. first run: every page fetched, parsed, stored and evaluated (the baseline);
B. unchanged re-run: the sitemap says nothing changed, so no product page is requested;
C. 5% of the products get a new price (and a new ``<lastmod>``), then a re-run: only those pages are
   fetched, parsed and evaluated again.

Rounds alternate A B C A B C ... (at least 3); the ratios B/A and C/A of each round are printed with
their median and spread beside the goals (issue 12: unchanged <= 20%, 5% changed <= 30%), and every
C run is checked to record exactly the changed prices in ``variant_history``.

    .venv/bin/python bench/recrawl.py [--pages 5000] [--changed 0.05] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
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

    def __init__(self):
        self.files: dict[str, tuple[bytes, str, str]] = {}
        self.modified: dict[str, float] = {}  # product path -> its lastmod in the sitemap
        self.counts = {"200": 0, "304": 0, "404": 0}
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

    def load(self, files: dict[str, bytes], modified: float) -> None:
        """Serve ``files`` (all last changed at ``modified``), the product sitemap with lastmods."""
        self.files, self.modified = {}, {}
        for path, body in files.items():
            self.put(path, body, modified)
            if path.startswith("/products/"):
                self.modified[path] = modified
        self.write_sitemap()

    def write_sitemap(self) -> None:
        entries = "".join(
            f"<url><loc>{self.base}{path}</loc><lastmod>{w3c(stamp)}</lastmod></url>"
            for path, stamp in self.modified.items()
        )
        self.put(
            "/sitemap-products.xml",
            (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{entries}</urlset>"
            ).encode(),
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def w3c(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


PRICE_IN_JSON_LD = re.compile(rb'"price": "(\d+\.\d\d)"')


def change_prices(shop: ConditionalShop, paths: list[str]) -> dict[str, tuple[str, str]]:
    """Lower each product's price by 1.00 in its JSON-LD and visible HTML, with a new lastmod in the
    sitemap; return {path: (old, new)}."""
    changes = {}
    for path in paths:
        body = shop.files[path][0]
        found = PRICE_IN_JSON_LD.findall(body)
        if len(found) != 1:
            raise SystemExit(f"{path}: expected one JSON-LD price, found {found}: format changed?")
        old = found[0].decode()
        new = str(Decimal(old) - 1 if Decimal(old) > 2 else Decimal(old) + 1)
        changed = body.replace(f'"price": "{old}"'.encode(), f'"price": "{new}"'.encode())
        changed = changed.replace(f"${old}<".encode(), f"${new}<".encode())
        shop.put(path, changed)
        shop.modified[path] = time.time()
        changes[path] = (old, new)
    shop.write_sitemap()
    return changes


def serumscope_run(sites: Path, db: Path, concurrency: int) -> tuple[float, dict]:
    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "ERROR",
    }
    command = [str(SERUMSCOPE), "run", "--sites", str(sites), "--db", str(db), "--quiet"]
    command += ["--log-dir", str(db.parent / "logs")]
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


def recorded_changes(db: Path, crawl_run_id: int, base: str) -> set[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return {
            (url.removeprefix(base), old, new)
            for url, old, new in conn.execute(
                """SELECT l.url, c.old_price, c.new_price FROM variant_changes c
                   JOIN listings l ON l.id = c.listing_id
                   WHERE c.run_id = ? AND c.change = 'changed'""",
                [crawl_run_id],
            )
        }


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):4.0%} (spread {min(values):.0%}-{max(values):.0%})"


def one_round(shop, files, args, folder: Path, number: int) -> list[tuple]:
    """A B C on a fresh database; [(label, wall, run, answers)] and the price check of C."""
    shop.load(files, time.time() - 86400)
    sites, db = folder / "sites.toml", folder / f"recrawl-{number}.db"
    sites.write_text(
        f'[[shop]]\nname = "bench"\nplatform = "sitemap"\nbase_url = "{shop.base}"\n'
        'product_url_patterns = ["/products/"]\n'
    )
    results = []
    for label in ("A first run", "B unchanged", f"C {args.changed:.0%} changed"):
        expected = {}
        if label.startswith("C"):
            products = sorted(shop.modified)
            picked = random.Random(number).sample(products, round(len(products) * args.changed))
            expected = change_prices(shop, picked)
        before = dict(shop.counts)
        wall, run = serumscope_run(sites, db, args.concurrency)
        answers = {k: shop.counts[k] - before[k] for k in shop.counts}
        results.append((label, wall, run, answers))
        print(
            f"round {number} {label:<14} {wall:6.1f} s  HTTP 200: {answers['200']:>5}, "
            f"304: {answers['304']:>5}; evaluated {run['evaluated']:>5}; status {run['status']}",
            flush=True,
        )
    made = {(path, old, new) for path, (old, new) in expected.items()}
    recorded = recorded_changes(db, results[-1][2]["crawl_run_id"], shop.base)
    if recorded != made:
        print(
            "  missing:", sorted(made - recorded)[:5], " unexpected:", sorted(recorded - made)[:5]
        )
        raise SystemExit(f"round {number}: the recorded price changes are not the ones made")
    db.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of prices to change")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    shop = ConditionalShop()
    shop.thread.start()
    # The generator needs the base URL: render with a placeholder port, then put the real one in.
    placeholder = "http://127.0.0.1:1"
    files = {
        path: body.replace(placeholder.encode(), shop.base.encode())
        for path, body in page_generator()(args.pages, placeholder).items()
    }
    print(
        f"shop: {args.pages} product pages (~20 KB, JSON-LD), sitemap with lastmod, ETag / "
        f"Last-Modified; concurrency {args.concurrency}, AutoThrottle off, else shipped settings"
    )
    rounds = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for number in range(1, args.rounds + 1):
                rounds.append(one_round(shop, files, args, Path(tmp), number))
    finally:
        shop.server.shutdown()

    for index, label in ((0, "A first run"), (1, "B unchanged"), (2, "C changed")):
        walls = [r[index][1] for r in rounds]
        phases = json.loads(rounds[-1][index][2]["timings"] or "{}")
        detail = ", ".join(f"{k} {v:.1f}s" for k, v in phases.items() if k != "total")
        print(
            f"{label:<12} median {statistics.median(walls):6.1f} s "
            f"(spread {min(walls):.1f}-{max(walls):.1f}); last round [{detail}]"
        )
    unchanged = [r[1][1] / r[0][1] for r in rounds]
    changed = [r[2][1] / r[0][1] for r in rounds]
    for name, ratios, goal in (
        ("unchanged re-run + re-evaluate", unchanged, 0.20),
        (f"{args.changed:.0%} changed re-run + re-evaluate", changed, 0.30),
    ):
        met = "met" if statistics.median(ratios) <= goal else "NOT met"
        print(f"goal {name} <= {goal:.0%} of the first run: {met}: {spread(ratios)}")
    print(
        f"price changes: {len(rounds[0][2][3]) and round(args.pages * args.changed)} made per round, "
        "exactly those recorded in variant_history by every C run"
    )


if __name__ == "__main__":
    main()
