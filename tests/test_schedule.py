"""`serumscope schedule` as a real process with short intervals: repeats, survives failures, never
overlaps, stops cleanly on SIGTERM (also in the middle of a run)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing

import pytest
from run_fault_shops import FAST, ShopifyShop, wait_for, write_sites

from serumscope.child_process import serumscope_command
from serumscope.runlock import process_alive, run_lock

pytestmark = pytest.mark.slow


def schedule_command(sites, db, *options: str) -> list[str]:
    return [
        *serumscope_command(), "schedule", "--sites", str(sites), "--db", str(db), *FAST, *options,
    ]  # fmt: skip


def runs(db) -> list[tuple]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute("SELECT id, status, exit_code, phase FROM runs ORDER BY id").fetchall()


class Schedule:
    """A running `serumscope schedule` whose output lines are collected as they come."""

    def __init__(self, command: list[str]):
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def finish(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_schedule_repeats_runs_at_the_interval(tmp_path):
    with ShopifyShop(5) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        started = time.monotonic()
        schedule = Schedule(schedule_command(sites, db, "--every", "3s", "--max-runs", "2"))
        try:
            assert schedule.finish() == 0
        finally:
            schedule.stop()
        assert time.monotonic() - started >= 3
        assert runs(db) == [(1, "ok", 0, "done"), (2, "ok", 0, "done")]
        assert schedule.saw("run 1 exited with status 0 (ok)")
        assert schedule.saw("run 2 exited with status 0 (ok)")
        assert schedule.saw("next run at 20")
        assert schedule.saw("stopped after 2 runs")
        assert sum("run 1 ok:" in line or "run 2 ok:" in line for line in schedule.lines) == 2


def test_schedule_survives_a_failed_run(tmp_path):
    with ShopifyShop(5) as shop:
        shop.mode = "error"
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        schedule = Schedule(schedule_command(sites, db, "--every", "1s", "--max-runs", "2"))
        try:
            wait_for(lambda: schedule.saw("run 1 exited"), timeout=60)
            shop.mode = "normal"
            assert schedule.finish() == 0
        finally:
            schedule.stop()
        assert schedule.saw("run 1 exited with status 2 (failed)")
        assert schedule.saw("run 2 exited with status 0 (ok)")
        assert runs(db) == [(1, "failed", 2, "done"), (2, "ok", 0, "done")]


def test_schedule_skips_while_another_run_holds_the_lock(tmp_path):
    with ShopifyShop(3) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        with run_lock(db):
            schedule = Schedule(schedule_command(sites, db, "--every", "1s", "--max-runs", "1"))
            try:
                assert schedule.finish() == 0
            finally:
                schedule.stop()
        assert schedule.saw("exited with status 75 (skipped: another run holds the lock)")
        assert not db.exists()


def test_sigterm_between_runs_stops_at_once(tmp_path):
    with ShopifyShop(3) as shop:
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        schedule = Schedule(schedule_command(sites, db, "--every", "1h"))
        try:
            wait_for(lambda: schedule.saw("next run at"), timeout=60)
            asked = time.monotonic()
            schedule.process.send_signal(signal.SIGTERM)
            assert schedule.finish(timeout=30) == 0
            assert time.monotonic() - asked < 10
        finally:
            schedule.stop()
        assert schedule.saw("SIGTERM received, stopping")
        assert schedule.saw("stopped after 1 run")
        assert runs(db) == [(1, "ok", 0, "done")]


def test_sigterm_during_a_run_records_it_interrupted_and_leaves_no_process(tmp_path):
    with ShopifyShop(30, page_size=3) as shop:
        shop.delay = 0.3
        sites, db = write_sites(tmp_path, shop), tmp_path / "serumscope.db"
        schedule = Schedule(schedule_command(sites, db, "--every", "1h"))
        try:
            wait_for(lambda: runs(db) and runs(db)[-1][3] == "crawl", timeout=60)
            wait_for(lambda: shop.requests >= 3, timeout=30)
            with closing(sqlite3.connect(db, timeout=30)) as conn:
                crawl_pid = conn.execute("SELECT pid FROM crawl_runs").fetchone()[0]
            schedule.process.send_signal(signal.SIGTERM)
            assert schedule.finish(timeout=60) == 0
        finally:
            schedule.stop()
        assert runs(db) == [(1, "interrupted", 143, "crawl")]
        assert schedule.saw("run 1 exited with status 143 (interrupted)")
        assert not schedule.saw("next run at"), "a stopping schedule announced another run"
        assert schedule.saw("stopped after 1 run")
        wait_for(lambda: not process_alive(crawl_pid), timeout=20)

        shop.delay = 0.0
        after = subprocess.run(
            [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db), *FAST],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert after.returncode == 0, after.stderr
        assert runs(db)[-1][:2] == (2, "ok")
