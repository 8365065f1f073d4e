"""`serumscope run` as a real subprocess under faults: SIGKILL mid-crawl and mid-evaluation, a shop that
answers garbage, a second concurrent run, and Datasette serving the file throughout.

The shops are small Shopify-format servers started here on 127.0.0.1 (``ShopifyShop``), so a test can
slow one down, make it answer 500 or an empty feed, or change prices between runs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from serumscope.child_process import serumscope_command
from serumscope.runlock import process_alive
from serumscope.store.status import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL

pytestmark = pytest.mark.slow

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


def test_sigkill_during_the_crawl_loses_nothing_and_the_next_run_recovers(tmp_path):
    with ShopifyShop(40, page_size=5) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        first = serumscope_run(sites, db)
        assert first.returncode == EXIT_OK, first.stderr
        stored = set(query(db, "SELECT id, title FROM listings"))
        evaluated = set(query(db, "SELECT listing_id, score FROM evaluations"))
        assert len(stored) == 40 and len(evaluated) == 40

        shop.delay = 0.3
        for n in range(1, 41):
            shop.set_price(n, "9.99")
        process = subprocess.Popen(
            run_command(sites, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        before_kill = shop.requests

        def crawl_under_way():
            return (
                latest_run(db).get("phase") == "crawl"
                and scalar(db, "SELECT status FROM crawl_runs ORDER BY id DESC LIMIT 1")
                == "running"
                and shop.requests >= before_kill + 4
            )

        crawl_pid = kill_run_when(process, db, crawl_under_way)
        wait_for(lambda: not process_alive(crawl_pid), timeout=10)  # the crawl died with its run

        assert integrity(db) == "ok"
        assert stored <= set(query(db, "SELECT id, title FROM listings"))
        assert len(query(db, "SELECT listing_id FROM evaluations")) == 40
        assert latest_run(db)["status"] == "running"  # nobody could record the kill yet

        shop.delay = 0.0
        recovered = serumscope_run(sites, db)
        assert recovered.returncode == EXIT_OK, recovered.stderr
        assert "marked run 2 as interrupted" in recovered.stderr
        statuses = query(db, "SELECT id, status, phase FROM runs ORDER BY id")
        assert statuses == [(1, "ok", "done"), (2, "interrupted", "crawl"), (3, "ok", "done")]
        assert query(db, "SELECT status FROM crawl_runs ORDER BY id") == [
            ("ok",),
            ("interrupted",),
            ("ok",),
        ]
        assert scalar(db, "SELECT count(*) FROM listings WHERE gone_since IS NOT NULL") == 0
        assert set(query(db, "SELECT DISTINCT price FROM variants")) == {("9.99",)}
        assert integrity(db) == "ok"


def test_sigkill_during_evaluation_loses_nothing_and_the_next_run_recovers(tmp_path):
    with ShopifyShop(1200) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        assert serumscope_run(sites, db).returncode == EXIT_OK
        first_hashes = dict(query(db, "SELECT listing_id, input_hash FROM evaluations"))
        assert len(first_hashes) == 1200

        for n in shop.products:
            shop.set_price(n, "11.00")
        process = subprocess.Popen(
            run_command(sites, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

        def evaluating():
            return latest_run(db).get("id") == 2 and latest_run(db).get("phase") == "evaluate"

        kill_run_when(process, db, evaluating, interval=0.005)

        assert integrity(db) == "ok"
        assert scalar(db, "SELECT count(*) FROM listings") == 1200
        # every evaluation is still there: the old one or, for batches that committed, the new one
        assert scalar(db, "SELECT count(*) FROM evaluations") == 1200
        assert (
            scalar(
                db,
                "SELECT count(*) FROM variant_changes WHERE new_price = '11.00' AND change = 'changed'",
            )
            > 0
        )
        stale = scalar(
            db,
            "SELECT count(*) FROM evaluations e JOIN listings l ON l.id = e.listing_id "
            "WHERE e.input_hash IS NOT l.input_hash",
        )
        assert stale > 0, "the kill came after evaluation finished; nothing was tested"

        recovered = serumscope_run(sites, db)
        assert recovered.returncode == EXIT_OK, recovered.stderr
        assert query(db, "SELECT status, phase FROM runs WHERE id = 2") == [
            ("interrupted", "evaluate")
        ]
        assert (
            scalar(
                db,
                "SELECT count(*) FROM evaluations e JOIN listings l ON l.id = e.listing_id "
                "WHERE e.input_hash IS NOT l.input_hash",
            )
            == 0
        )
        assert integrity(db) == "ok"


def test_a_crawl_process_killed_under_a_live_run_fails_the_run_and_marks_nothing_gone(tmp_path):
    with ShopifyShop(20, page_size=4) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        assert serumscope_run(sites, db).returncode == EXIT_OK
        del shop.products[20]
        shop.delay = 0.3
        before = shop.requests
        process = subprocess.Popen(
            run_command(sites, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        wait_for(
            lambda: (
                scalar(db, "SELECT status FROM crawl_runs WHERE id = 2") == "running"
                and shop.requests >= before + 3
            )
        )
        os.kill(scalar(db, "SELECT pid FROM crawl_runs WHERE id = 2"), signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)

        assert process.returncode == EXIT_FAILED, stderr
        assert "exited with status -9" in stderr
        assert "run 2 failed" in stdout
        assert query(db, "SELECT status FROM crawl_runs WHERE id = 2") == [("interrupted",)]
        shops = json.loads(latest_run(db)["shops"])
        assert shops["testshop"]["status"] == "failed"
        assert "did not complete" in shops["testshop"]["reason"]
        assert scalar(db, "SELECT count(*) FROM listings WHERE gone_since IS NOT NULL") == 0
        assert integrity(db) == "ok"


def test_a_shop_answering_garbage_is_suspect_and_keeps_its_listings(tmp_path):
    with ShopifyShop(12, name="flaky") as flaky, ShopifyShop(5, name="steady") as steady:
        sites, db = write_sites(tmp_path, flaky, steady), tmp_path / "serumscope.db"
        assert serumscope_run(sites, db).returncode == EXIT_OK

        for mode in ("error", "empty"):
            flaky.mode = mode
            result = serumscope_run(sites, db)
            assert result.returncode == EXIT_PARTIAL, (mode, result.stderr)
            run = latest_run(db)
            assert run["status"] == "suspect"
            shops = json.loads(run["shops"])
            assert shops["flaky"]["status"] == "suspect"
            assert shops["flaky"]["seen"] == 0 and shops["flaky"]["listed_before"] == 12
            assert shops["steady"]["status"] == "ok"
            assert "suspect (flaky)" in result.stdout
            assert scalar(db, "SELECT count(*) FROM listings WHERE gone_since IS NOT NULL") == 0

        flaky.mode = "normal"
        removed = steady.products.pop(5)
        result = serumscope_run(sites, db)
        assert result.returncode == EXIT_OK, result.stderr
        assert query(db, "SELECT id FROM listings WHERE gone_since IS NOT NULL") == [
            ("steady:1005",)
        ]
        assert query(db, "SELECT event FROM listing_events WHERE event != 'appeared'") == [
            ("gone",)
        ]

        steady.products[5] = removed
        result = serumscope_run(sites, db)
        assert result.returncode == EXIT_OK, result.stderr
        assert "1 back" in result.stdout
        assert scalar(db, "SELECT count(*) FROM listings WHERE gone_since IS NOT NULL") == 0
        events = query(
            db, "SELECT listing_id, event, run_id FROM listing_events WHERE event != 'appeared'"
        )
        crawl_runs = [r[0] for r in query(db, "SELECT crawl_run_id FROM runs ORDER BY id")]
        assert events == [
            ("steady:1005", "gone", crawl_runs[-2]),
            ("steady:1005", "back", crawl_runs[-1]),
        ]


def test_a_feed_page_that_fails_keeps_the_products_it_would_have_listed(tmp_path):
    with ShopifyShop(12, page_size=4) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        assert serumscope_run(sites, db).returncode == EXIT_OK
        del shop.products[1]
        shop.failing_pages = {3}
        result = serumscope_run(sites, db)
        assert result.returncode == EXIT_PARTIAL, result.stderr
        shops = json.loads(latest_run(db)["shops"])
        assert shops["testshop"]["status"] == "partial"
        assert shops["testshop"]["seen"] == 8
        assert scalar(db, "SELECT count(*) FROM listings WHERE gone_since IS NOT NULL") == 0

        shop.failing_pages = set()
        assert serumscope_run(sites, db).returncode == EXIT_OK
        assert query(db, "SELECT id FROM listings WHERE gone_since IS NOT NULL") == [
            ("testshop:1001",)
        ]


def test_a_second_concurrent_run_exits_with_the_lock_code(tmp_path):
    with ShopifyShop(20, page_size=5) as shop:
        shop.delay = 0.3
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        first = subprocess.Popen(
            run_command(sites, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        wait_for(lambda: latest_run(db).get("phase") == "crawl")
        started = time.monotonic()
        second = serumscope_run(sites, db)
        assert second.returncode == EXIT_LOCKED
        assert time.monotonic() - started < 15
        assert "another serumscope run is in progress" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        shop.delay = 0.0
        assert first.wait(timeout=120) == EXIT_OK
        assert query(db, "SELECT status FROM runs") == [("ok",)]


def free_port() -> int:
    import socket

    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_datasette_site_serves_without_errors_during_a_run(tmp_path):
    with ShopifyShop(800) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        assert serumscope_run(sites, db).returncode == EXIT_OK
        port = free_port()
        site = subprocess.Popen(
            [
                *serumscope_command(),
                "serve",
                "--db",
                str(db),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--allow-sql",  # one path below runs its own SQL
                "--rate-limit",  # the readers ask far faster than one visitor may
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}/serumscope"
        paths = [
            "/scores.json?_size=50&_shape=array",
            "/listings.json?_size=50&_shape=array",
            "/recent_changes.json?_size=20&_shape=array",
            "/price_drops.json?_size=20&_shape=array",
            "/variant_history.json?_size=20&_shape=array",
            "/evaluations.json?_size=20&_shape=array",
            ".json?sql=select+count(*)+as+n+from+listings&_shape=array",
        ]
        answers: list[tuple[str, int]] = []
        failures: list[str] = []
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                for path in paths:
                    try:
                        with urllib.request.urlopen(base + path, timeout=20) as response:
                            json.loads(response.read())
                            answers.append((path, response.status))
                    except Exception as error:  # every kind of failure is what this test looks for
                        failures.append(f"{path}: {error!r}")

        try:
            wait_for(
                lambda: urllib.request.urlopen(base + ".json", timeout=2).status == 200, 30, 0.2
            )
            for n in range(1, 801, 3):
                shop.set_price(n, "17.50")
            thread = threading.Thread(target=reader, daemon=True)
            thread.start()
            result = serumscope_run(sites, db)
            stop.set()
            thread.join(timeout=30)
        finally:
            site.send_signal(signal.SIGTERM)
            site.wait(timeout=30)

        assert result.returncode == EXIT_OK, result.stderr
        assert failures == []
        assert len(answers) >= 30, "too few requests during the run to say anything"
        assert {status for _, status in answers} == {200}
        # every product costs 20.00 or more before, so each changed price is a drop
        assert scalar(db, "SELECT count(*) FROM price_drops") == len(range(1, 801, 3))


def test_the_log_file_holds_the_crawl_output_and_the_summary(tmp_path):
    with ShopifyShop(3) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        result = serumscope_run(sites, db)
        assert result.returncode == EXIT_OK
        summary = result.stdout.strip().splitlines()[-1]
        assert summary.startswith("run 1 ok: shops 1 ok; 3 listings seen; 3 new;")
        log_path = Path(latest_run(db)["log_path"])
        assert log_path.parent == tmp_path / "logs"
        assert log_path.name.startswith("run-1-")
        text = log_path.read_text()
        assert "phase: evaluate" in text
        assert summary in text
        assert "testshop" in text  # the crawl's own table of per-shop figures
        assert os.path.getsize(log_path) > len(summary)


def test_every_rubric_already_scored_is_kept_current(tmp_path):
    from serumscope.evaluation_store import evaluate_db
    from serumscope.store.database import open_db

    with ShopifyShop(4) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        assert serumscope_run(sites, db).returncode == EXIT_OK
        database = open_db(db)
        evaluate_db(database, rubric="extended")
        database.close()
        shop.set_price(2, "5.00")
        result = serumscope_run(sites, db)
        assert result.returncode == EXIT_OK, result.stderr
        assert "1 evaluated" in result.stdout
        stale = query(
            db,
            "SELECT e.rubric, e.listing_id FROM evaluations e JOIN listings l ON l.id = e.listing_id "
            "WHERE e.input_hash IS NOT l.input_hash",
        )
        assert stale == []
        assert query(db, "SELECT DISTINCT rubric FROM evaluations ORDER BY rubric") == [
            ("extended",),
            ("post",),
        ]
        log = Path(latest_run(db)["log_path"]).read_text()
        assert "evaluation (post)" in log and "evaluation (extended)" in log
