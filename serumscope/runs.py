"""One unattended cycle: ``serumscope run``.

A cycle: take the lock beside the database and mark runs a killed process left ``running`` as
``interrupted`` (:mod:`serumscope.runlock`), crawl every shop in a child ``serumscope crawl`` process
(a fresh Twisted reactor; a crash stays in the child), reconcile each shop (:mod:`serumscope.reconcile`:
listings it no longer lists get ``gone_since``, unless the shop's answer looks broken), evaluate what
is new or changed, and record the cycle in ``runs``. :mod:`serumscope.schedule` repeats it.

Exit status (also in ``runs.exit_code``):

=========  ===================================================================================
0          ok: every shop answered normally and evaluation succeeded
1          partial (or suspect): some shops failed, look suspect or were read only in part (their
           listings are kept as they were), or the evaluation failed; what did come in is stored
2          failed: no shop answered normally, the sites file is unusable, or an unexpected error
           (its traceback is in the run's log)
75         locked: another run holds the lock (EX_TEMPFAIL: try again later); nothing was done
130 / 143  interrupted by SIGINT / SIGTERM; recorded as ``interrupted``
=========  ===================================================================================
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import sqlite_utils

from serumscope.child_process import die_with_parent, serumscope_command
from serumscope.reconcile import (
    ShopOutcome,
    change_counts,
    crawler_shop_summaries,
    reconcile_shop,
)
from serumscope.runlock import mark_interrupted_runs, run_lock
from serumscope.store.clock import utc_now
from serumscope.store.database import open_db
from serumscope.store.site import SCORED_RUBRICS
from serumscope.store.status import EXIT_FAILED, run_status


class RunInterrupted(BaseException):
    """SIGTERM or SIGINT arrived during a run."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class RunResult:
    run_id: int | None
    status: str
    exit_code: int
    summary: str
    crawl_run_id: int | None = None
    shops: dict[str, ShopOutcome] = field(default_factory=dict)
    log_path: Path | None = None


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into :class:`RunInterrupted` so the run can record itself."""

    def handler(signum, _frame):
        # Once is enough: a second signal must not cut short the recording of the first.
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        raise RunInterrupted(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class _Cycle:
    """The state of one ``serumscope run`` while it runs."""

    def __init__(
        self, sites_path, db_path, log_dir, rubrics, echo, crawl_settings=(), redis_url=None
    ):
        self.sites_path, self.db_path, self.log_dir = sites_path, db_path, log_dir
        self.rubrics, self.echo = list(rubrics), echo
        self.crawl_settings = list(crawl_settings)
        self.redis_url = redis_url
        self.started = time.monotonic()
        self.db: sqlite_utils.Database | None = None
        self.run_id: int | None = None
        self.log_path: Path | None = None
        self.log_file: IO[str] | None = None
        self.child: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        self.phase: tuple[str, float] | None = None

    def note(self, message: str, echo: bool = True) -> None:
        line = f"{utc_now()} {message}"
        if self.log_file:
            self.log_file.write(line + "\n")
            self.log_file.flush()
        if echo:
            self.echo(message, err=True)

    def set_phase(self, phase: str) -> None:
        self.end_phase()
        self.phase = (phase, time.monotonic())
        self.db["runs"].update(self.run_id, {"phase": phase})
        self.note(f"phase: {phase}")

    def end_phase(self) -> None:
        if self.phase is not None:
            name, started = self.phase
            self.timings[name] = round(time.monotonic() - started, 3)
            self.phase = None

    def start(self) -> None:
        self.db = open_db(self.db_path)
        for marked in mark_interrupted_runs(self.db):
            self.echo(f"marked {marked} as interrupted (its process is gone)", err=True)
        self.run_id = (
            self.db["runs"]
            .insert(
                {"started_at": utc_now(), "status": "running", "phase": "start", "pid": os.getpid()}
            )
            .last_pk
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"run-{self.run_id}-{stamp}.log"
        self.log_file = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115
        self.db["runs"].update(self.run_id, {"log_path": str(self.log_path)})
        self.note(f"run {self.run_id} started: sites {self.sites_path}, db {self.db_path}")

    def run(self, shop_names: list[str]) -> RunResult:
        """Crawl, reconcile, evaluate and record; the run is started and holds the lock."""
        crawl_run_id, completed = self.crawl()
        shops = self.reconcile(shop_names, crawl_run_id, completed)
        self.db["runs"].update(self.run_id, {"crawl_run_id": crawl_run_id})
        evaluated, evaluation_error = self.evaluate()
        status, exit_code = run_status([s.status for s in shops.values()], evaluation_error)
        changes = change_counts(self.db, crawl_run_id) if crawl_run_id else {}
        summary = self.summary_line(status, shops, changes, evaluated, evaluation_error)
        result = RunResult(
            self.run_id, status, exit_code, summary, crawl_run_id, shops, self.log_path
        )
        self.finish(
            result,
            listings_seen=sum(s.seen for s in shops.values()),
            gone=sum(s.gone for s in shops.values()),
            back=sum(s.back for s in shops.values()),
            evaluated=evaluated,
            error=evaluation_error,
        )
        return result

    def crawl(self) -> tuple[int | None, bool]:
        """Run ``serumscope crawl`` in a child; return its crawl_runs id and whether it completed."""
        self.set_phase("crawl")
        before = self.db.execute("SELECT coalesce(max(id), 0) FROM crawl_runs").fetchone()[0]
        command = [
            *serumscope_command(),
            "crawl",
            "--sites",
            str(self.sites_path),
            "--db",
            str(self.db_path),
            *[arg for setting in self.crawl_settings for arg in ("--setting", setting)],
            *(["--redis", self.redis_url] if self.redis_url else []),
        ]
        self.note("crawl: " + " ".join(command))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads started yet in this process
        )
        returncode = self.child.wait()
        child_pid = self.child.pid
        self.child = None
        self.note(f"crawl process {child_pid} exited with status {returncode}")
        row = self.db.execute(
            "SELECT id, status, finished_at FROM crawl_runs WHERE id > ? AND pid = ?"
            " ORDER BY id DESC LIMIT 1",
            [before, child_pid],
        ).fetchone()
        if row is None:
            return None, False
        crawl_run_id, status, finished_at = row
        if status == "running":
            with self.db.conn:
                self.db.execute(
                    "UPDATE crawl_runs SET status = 'interrupted', finished_at = ? WHERE id = ?",
                    [utc_now(), crawl_run_id],
                )
            return crawl_run_id, False
        return crawl_run_id, returncode >= 0 and finished_at is not None

    def reconcile(
        self, shop_names: list[str], crawl_run_id: int | None, completed: bool
    ) -> dict[str, ShopOutcome]:
        self.set_phase("reconcile")
        if crawl_run_id is None:
            return {
                name: ShopOutcome("failed", 0, 0, 0, reason="the crawl recorded no run")
                for name in shop_names
            }
        crawler_summaries = crawler_shop_summaries(self.db, crawl_run_id)
        gone_at = utc_now()
        shops: dict[str, ShopOutcome] = {}
        for name in shop_names:
            shops[name] = reconcile_shop(
                self.db,
                name,
                crawl_run_id,
                crawl_completed=completed,
                crawler_summary=crawler_summaries.get(name),
                gone_at=gone_at,
            )
            self.note(f"shop {name}: {shops[name].as_dict()}")
        return shops

    def rubrics_to_evaluate(self) -> list[str]:
        """The rubrics asked for, else each category's scored rubric and every rubric the database already holds scores of
        (so no stored evaluation goes stale)."""
        if self.rubrics:
            return self.rubrics
        scored = list(SCORED_RUBRICS.values())
        stored = [r[0] for r in self.db.execute("SELECT DISTINCT rubric FROM evaluations")]
        return [*scored, *sorted(set(stored) - set(scored))]

    def evaluate(self) -> tuple[int | None, str | None]:
        """Every rubric in one pass (each listing's facts are read once); a rubric that cannot be
        loaded is reported and the others still run."""
        self.set_phase("evaluate")
        from evaluator import load_rubric
        from serumscope.evaluation_store import evaluate_db

        rubrics, errors = [], []
        for rubric in self.rubrics_to_evaluate():
            try:
                load_rubric(rubric)
            except Exception as error:
                self.note(f"evaluation with rubric {rubric} failed:\n" + traceback.format_exc())
                errors.append(f"evaluation ({rubric}) failed: {error}")
                continue
            rubrics.append(rubric)
        if not rubrics:
            return 0, "; ".join(errors) or None
        try:
            result = evaluate_db(self.db, rubric=rubrics)
        except Exception as error:  # a failed evaluation must not lose the crawl's record
            self.note(f"evaluation ({', '.join(rubrics)}) failed:\n" + traceback.format_exc())
            errors.append(f"evaluation ({', '.join(rubrics)}) failed: {error}")
            return 0, "; ".join(errors)
        for rubric, summary in result["rubrics"].items():
            self.note(f"evaluation ({rubric}): {summary}")
        return result["evaluated"], "; ".join(errors) or None

    def summary_line(
        self,
        status: str,
        shops: dict[str, ShopOutcome],
        changes: dict[str, int],
        evaluated: int | None,
        evaluation_error: str | None,
    ) -> str:
        by_status: dict[str, list[str]] = {}
        for name, outcome in shops.items():
            by_status.setdefault(outcome.status, []).append(name)
        shop_text = ", ".join(
            f"{len(names)} {state}" + (f" ({' '.join(names)})" if state != "ok" else "")
            for state, names in sorted(by_status.items())
        )
        parts = [
            f"run {self.run_id} {status}: shops {shop_text or 'none'}",
            f"{sum(s.seen for s in shops.values())} listings seen",
            f"{changes.get('new', 0)} new",
            f"{sum(s.gone for s in shops.values())} gone",
            f"{sum(s.back for s in shops.values())} back",
            f"{changes.get('prices', 0)} price changes",
            f"{changes.get('reformulated', 0)} reformulated",
            evaluation_error or f"{evaluated if evaluated is not None else '?'} evaluated",
            f"{time.monotonic() - self.started:.1f}s",
            f"log {self.log_path}",
        ]
        return "; ".join(parts)

    def finish(self, result: RunResult, **columns) -> None:
        self.end_phase()
        self.timings["total"] = round(time.monotonic() - self.started, 3)
        self.note(result.summary, echo=False)  # the caller prints it, once, on stdout
        self.db["runs"].update(
            self.run_id,
            {
                "finished_at": utc_now(),
                "status": result.status,
                "exit_code": result.exit_code,
                "phase": "done",
                "summary": result.summary,
                "shops": json.dumps({k: v.as_dict() for k, v in result.shops.items()}),
                "timings": json.dumps(self.timings),
                **columns,
            },
        )

    def record_interrupt(self, interrupt: RunInterrupted) -> None:
        if self.run_id is None:
            return
        self.db["runs"].update(
            self.run_id,
            {
                "status": "interrupted",
                "finished_at": utc_now(),
                "exit_code": 128 + interrupt.signum,
                "error": f"stopped by {interrupt}",
            },
        )
        self.note(f"run {self.run_id} interrupted by {interrupt}")

    def record_failure(self, error: Exception) -> RunResult:
        """Record an unexpected error where the user looks (traceback in the log); call it while
        handling the error."""
        failed_in = self.phase[0] if self.phase else "start"
        self.note("run failed:\n" + traceback.format_exc())
        summary = f"run {self.run_id} failed: {type(error).__name__}: {error}; log {self.log_path}"
        result = RunResult(self.run_id, "failed", EXIT_FAILED, summary, log_path=self.log_path)
        self.finish(result, phase=failed_in, error=f"{type(error).__name__}: {error}")
        return result

    def close(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        if self.log_file:
            self.log_file.close()
        if self.db is not None:
            self.db.close()


def run_once(
    sites_path: Path,
    db_path: Path,
    log_dir: Path | None = None,
    *,
    rubrics: list[str] | tuple[str, ...] = (),
    crawl_settings: list[str] | tuple[str, ...] = (),
    echo: Callable[..., None] | None = None,
    redis_url: str | None = None,
) -> RunResult:
    """One complete cycle; see the module docstring. Raises :class:`RunLocked` if one is running."""
    from crawler.sites import SitesError, load_sites

    echo = echo or (lambda message, err=False: None)
    db_path = Path(db_path)
    log_dir = Path(log_dir) if log_dir else db_path.parent / "logs"
    shop_names = [s["name"] for s in load_sites(sites_path) if s.get("enabled", True)]
    if not shop_names:
        raise SitesError(
            f"{sites_path}: no enabled [[shop]] to crawl; add one (docs/crawling.md, "
            "`serumscope detect URL` prints the lines)"
        )

    with run_lock(db_path), signals_raise():
        cycle = _Cycle(Path(sites_path), db_path, log_dir, rubrics, echo, crawl_settings, redis_url)
        try:
            cycle.start()
            return cycle.run(shop_names)
        except RunInterrupted as interrupt:
            cycle.record_interrupt(interrupt)
            raise
        except Exception as error:  # record what went wrong where the user looks, then report it
            if cycle.run_id is None:
                raise
            return cycle.record_failure(error)
        finally:
            cycle.close()
