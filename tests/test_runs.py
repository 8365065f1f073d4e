"""Run pieces on a real SQLite file: reconciling shops, the lock, stale runs, durations."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from serumscope.child_process import serumscope_command
from serumscope.reconcile import reconcile_shop
from serumscope.runlock import mark_interrupted_runs, process_alive, run_lock
from serumscope.schedule import parse_duration
from serumscope.store.database import open_db
from serumscope.store.status import EXIT_LOCKED, run_status


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "runs.db")
    yield database
    database.close()


def crawl(db, run_id: int, shop: str, product_ids: list[int], status: str = "ok") -> None:
    """Store what a crawl run of ``shop`` saw, the way the crawler's pipelines leave it."""
    db["crawl_runs"].upsert(
        {"id": run_id, "started_at": "t", "finished_at": "t", "status": status}, pk="id"
    )
    db["shops"].upsert({"name": shop, "platform": "shopify"}, pk="name")
    db["listings"].upsert_all(
        [
            {
                "id": f"{shop}:{n}",
                "shop": shop,
                "title": f"Serum {n}",
                "url": f"http://127.0.0.1/{shop}/{n}",
                "last_run_id": run_id,
            }
            for n in product_ids
        ],
        pk="id",
    )


def gone(db, shop: str) -> set[str]:
    return {
        r["id"]
        for r in db.query(
            "SELECT id FROM listings WHERE shop = ? AND gone_since IS NOT NULL", [shop]
        )
    }


def test_listings_a_normal_crawl_no_longer_finds_are_marked_gone(db):
    crawl(db, 1, "glow", [1, 2, 3, 4, 5])
    assert reconcile_shop(db, "glow", 1, crawl_completed=True).status == "ok"
    crawl(db, 2, "glow", [1, 2, 3, 4])

    outcome = reconcile_shop(db, "glow", 2, crawl_completed=True, gone_at="2026-01-02T00:00:00Z")

    assert (outcome.status, outcome.seen, outcome.listed_before, outcome.gone) == ("ok", 4, 5, 1)
    assert gone(db, "glow") == {"glow:5"}
    events = list(
        db.query("SELECT listing_id, event, run_id FROM listing_events WHERE event = 'gone'")
    )
    assert events == [{"listing_id": "glow:5", "event": "gone", "run_id": 2}]


def test_a_listing_that_comes_back_is_cleared_with_an_event(db):
    crawl(db, 1, "glow", [1, 2])
    crawl(db, 2, "glow", [1])
    reconcile_shop(db, "glow", 2, crawl_completed=True)
    crawl(db, 3, "glow", [1, 2])

    outcome = reconcile_shop(db, "glow", 3, crawl_completed=True)

    assert (outcome.back, outcome.gone) == (1, 0)
    assert gone(db, "glow") == set()
    events = [
        r["event"]
        for r in db.query(
            "SELECT event FROM listing_events WHERE listing_id = 'glow:2' ORDER BY id"
        )
    ]
    assert events == ["appeared", "gone", "back"]


def test_a_shop_that_returns_nothing_is_suspect_and_keeps_its_listings(db):
    crawl(db, 1, "glow", list(range(1, 11)))
    crawl(db, 2, "other", [1])
    db["crawl_errors"].insert(
        {"run_id": 2, "shop": "glow", "url": "http://127.0.0.1/glow/products.json", "status": 500}
    )

    outcome = reconcile_shop(
        db, "glow", 2, crawl_completed=True, crawler_summary={"status": "failed"}
    )

    assert outcome.status == "suspect"
    assert "nothing" in outcome.reason
    assert gone(db, "glow") == set()


def test_a_shop_that_loses_most_listings_at_once_is_suspect(db):
    crawl(db, 1, "glow", list(range(1, 11)))
    crawl(db, 2, "glow", [1, 2, 3])
    outcome = reconcile_shop(db, "glow", 2, crawl_completed=True)
    assert (outcome.status, outcome.gone) == ("suspect", 0)
    assert gone(db, "glow") == set()


def test_an_unfinished_crawl_marks_nothing_gone_but_still_clears_returns(db):
    crawl(db, 1, "glow", [1, 2, 3])
    db.execute("UPDATE listings SET gone_since = 'x' WHERE id = 'glow:3'")
    db.conn.commit()
    crawl(db, 2, "glow", [3])
    outcome = reconcile_shop(db, "glow", 2, crawl_completed=False)
    assert (outcome.status, outcome.gone, outcome.back) == ("failed", 0, 1)
    assert gone(db, "glow") == set()


def test_a_product_page_that_failed_with_a_server_error_is_not_evidence_of_gone(db):
    crawl(db, 1, "glow", [1, 2, 3, 4, 5, 6])
    crawl(db, 2, "glow", [1, 2, 3, 4])
    db["crawl_errors"].insert_all(
        [
            {"run_id": 2, "shop": "glow", "url": "http://127.0.0.1/glow/5", "status": 503},
            {"run_id": 2, "shop": "glow", "url": "http://127.0.0.1/glow/6", "status": 404},
        ]
    )
    outcome = reconcile_shop(db, "glow", 2, crawl_completed=True)
    assert outcome.status == "ok"
    assert gone(db, "glow") == {"glow:6"}


def test_a_shop_whose_crawl_ended_early_marks_nothing_gone(db):
    crawl(db, 1, "glow", [1, 2, 3, 4, 5, 6])
    crawl(db, 2, "glow", [1, 2, 3, 4, 5])
    summary = {"status": "partial", "finish_reason": "closespider_timeout"}
    outcome = reconcile_shop(db, "glow", 2, crawl_completed=True, crawler_summary=summary)
    assert (outcome.status, outcome.gone) == ("failed", 0)
    assert "closespider_timeout" in outcome.reason


def test_pages_confirmed_unchanged_count_as_seen_whatever_the_crawler_counted(db):
    crawl(db, 1, "glow", [1, 2])
    crawl(db, 2, "glow", [1, 2])
    summary = {"status": "failed", "listings": 0, "finish_reason": "finished"}
    outcome = reconcile_shop(db, "glow", 2, crawl_completed=True, crawler_summary=summary)
    assert (outcome.status, outcome.seen, outcome.gone) == ("ok", 2, 0)


def test_a_failed_feed_page_means_nothing_is_marked_gone(db):
    crawl(db, 1, "glow", [1, 2, 3, 4, 5, 6])
    crawl(db, 2, "glow", [1, 2, 3, 4, 5])
    db["crawl_errors"].insert_all(
        [
            {"run_id": 2, "shop": "glow", "url": "http://127.0.0.1/products.json?page=2",
             "kind": "http", "status": 500},
            {"run_id": 2, "shop": "glow", "url": "http://127.0.0.1/private", "kind": "robots"},
            {"run_id": 2, "shop": "glow", "url": "http://127.0.0.1/old", "kind": "http", "status": 404},
        ]
    )  # fmt: skip
    outcome = reconcile_shop(db, "glow", 2, crawl_completed=True)
    assert (outcome.status, outcome.gone) == ("partial", 0)
    assert "1 failed pages that list products" in outcome.reason
    assert gone(db, "glow") == set()


def test_first_crawl_of_a_shop_that_only_errors_is_failed(db):
    db["crawl_runs"].insert({"id": 1, "status": "failed", "finished_at": "t"})
    db["crawl_errors"].insert(
        {"run_id": 1, "shop": "new", "url": "http://127.0.0.1/x", "status": 500}
    )
    assert reconcile_shop(db, "new", 1, crawl_completed=True).status == "failed"


@pytest.mark.parametrize(
    ("statuses", "evaluation_error", "expected"),
    [
        (["ok", "ok"], None, ("ok", 0)),
        (["ok", "failed"], None, ("partial", 1)),
        (["ok", "suspect"], None, ("suspect", 1)),
        (["ok", "partial"], None, ("partial", 1)),
        (["partial"], None, ("partial", 1)),
        (["partial", "suspect"], None, ("suspect", 1)),
        (["ok"], "evaluation failed: boom", ("partial", 1)),
        (["failed", "failed"], None, ("failed", 2)),
        (["suspect", "failed"], None, ("suspect", 2)),
        ([], None, ("failed", 2)),
    ],
)
def test_run_status_and_exit_code(statuses, evaluation_error, expected):
    assert run_status(statuses, evaluation_error) == expected


def test_stale_running_rows_are_marked_interrupted(db):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db["runs"].insert({"id": 1, "started_at": "t", "status": "running", "pid": dead.pid})
    db["crawl_runs"].insert_all(
        [
            {"id": 1, "status": "running", "pid": dead.pid},
            {"id": 2, "status": "running", "pid": os.getpid()},
            {"id": 3, "status": "ok", "pid": dead.pid, "finished_at": "t"},
        ]
    )
    marked = mark_interrupted_runs(db)
    assert sorted(marked) == ["crawl run 1", "run 1"]
    statuses = {r["id"]: r["status"] for r in db.query("SELECT id, status FROM crawl_runs")}
    assert statuses == {1: "interrupted", 2: "running", 3: "ok"}
    assert db["runs"].get(1)["status"] == "interrupted"
    assert process_alive(os.getpid()) and not process_alive(dead.pid)


def test_a_second_run_exits_at_once_with_the_lock_code(tmp_path):
    db_path = tmp_path / "locked.db"
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[[shop]]\nname = "x"\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'
    )
    with run_lock(db_path):
        finished = subprocess.run(
            [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode == EXIT_LOCKED
    assert "another serumscope run is in progress" in finished.stderr
    assert f"pid {os.getpid()}" in finished.stderr
    assert not db_path.exists()


def test_the_lock_is_free_again_after_the_holder_ends(tmp_path):
    db_path = tmp_path / "x.db"
    with run_lock(db_path):
        pass
    with run_lock(db_path) as handle:
        assert str(os.getpid()) in Path(handle.name).read_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("6h", timedelta(hours=6)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 2S ", timedelta(seconds=2)),
        ("0.5s", timedelta(seconds=0.5)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "6", "six hours", "0s", "5x", "1h junk"])
def test_parse_duration_rejects_nonsense(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_sites_file_without_shops_is_a_clear_failure(tmp_path):
    sites = tmp_path / "sites.toml"
    sites.write_text("# no shops yet\n")
    finished = subprocess.run(
        [*serumscope_command(), "run", "--sites", str(sites), "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "no enabled [[shop]] to crawl" in finished.stderr
    assert not (tmp_path / "x.db").exists()


def test_an_unexpected_error_is_recorded_as_a_failed_run(tmp_path):
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[[shop]]\nname = "x"\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'
    )
    not_a_folder = tmp_path / "logs-file"
    not_a_folder.write_text("")
    db_path = tmp_path / "x.db"
    finished = subprocess.run(
        [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db_path)]
        + ["--log-dir", str(not_a_folder / "logs")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert finished.stdout.startswith("run 1 failed: NotADirectoryError")
    db = open_db(db_path)
    row = db["runs"].get(1)
    db.close()
    assert (row["status"], row["exit_code"], row["phase"]) == ("failed", 2, "start")
    assert "NotADirectoryError" in row["error"]
