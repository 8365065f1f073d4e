"""`serumscope run` as a real subprocess under faults: SIGKILL mid-crawl and mid-evaluation, a shop that
answers garbage, a second concurrent run, and Datasette serving the file throughout.

The shops are small Shopify-format servers on 127.0.0.1 (``ShopifyShop``, tests/run_fault_shops.py), so
a test can slow one down, make it answer 500 or an empty feed, or change prices between runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port
from run_fault_shops import (
    ShopifyShop,
    integrity,
    kill_run_when,
    latest_run,
    query,
    run_command,
    scalar,
    serumscope_run,
    wait_for,
    write_sites,
)

from serumscope.child_process import serumscope_command
from serumscope.runlock import process_alive
from serumscope.store.status import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL

pytestmark = pytest.mark.slow


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
