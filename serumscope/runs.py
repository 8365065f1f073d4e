"""One unattended cycle (``serumscope run``) and the loop that repeats it (``serumscope schedule``).

A cycle: take the lock beside the database, mark runs a killed process left ``running`` as
``interrupted``, crawl every shop in a child ``serumscope crawl`` process (a fresh Twisted reactor; a
crash stays in the child), reconcile each shop (listings it no longer lists get ``gone_since``, unless
the shop's answer looks broken), evaluate what is new or changed, and record the cycle in ``runs``.

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
import ctypes
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import sqlite_utils

from serumscope.db import open_db

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_FAILED = 2
EXIT_LOCKED = 75

# A shop whose run sees fewer than this share of the listings it had is not trusted to mark the rest
# gone: a broken page template or an emptied feed looks exactly like a shop that sold out everything.
SUSPECT_SHARE = 0.5
# ...but only from this many listings up: in a tiny shop, losing half is ordinary.
SUSPECT_MIN_LISTINGS = 4
# Per-URL errors that mean "this product no longer exists" rather than "could not tell".
GONE_HTTP_STATUSES = (404, 410)
# Errors that are the shop's choice or a typo, not a failure to read it (crawler.extensions has the
# same set; imported from there it would load Scrapy into every run process).
SOFT_ERROR_KINDS = ("robots", "junk-url", "offsite")

log = logging.getLogger("serumscope.runs")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class RunLocked(RuntimeError):
    """Another ``serumscope run`` holds the lock on this database."""

    def __init__(self, lock_path: Path, holder: str):
        super().__init__(
            f"another serumscope run is in progress (lock {lock_path} held by {holder}); "
            "nothing done, try again later"
        )


class RunInterrupted(BaseException):
    """SIGTERM or SIGINT arrived during a run."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def run_lock(db_path: Path) -> Iterator[IO[str]]:
    """Hold an exclusive ``flock`` on ``<db>.lock`` or raise :class:`RunLocked` at once.

    The kernel releases the lock when the holder dies, however it dies, so a killed run never leaves
    a stale lock behind.
    """
    path = lock_path_for(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunLocked(path, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {utc_now()}\n")
        handle.flush()
        yield handle
    finally:
        handle.close()


def process_alive(pid: int | None) -> bool:
    """True when ``pid`` names a live (not zombie) process on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def mark_interrupted_runs(db: sqlite_utils.Database) -> list[str]:
    """Mark rows left ``running`` by a process that is gone as ``interrupted``; return what was marked.

    Called with the run lock held, so every ``runs`` row still ``running`` is stale. A ``crawl_runs``
    row may belong to a bare ``serumscope crawl`` that takes no lock: it is stale only when its pid is
    gone.
    """
    now = utc_now()
    marked = []
    with db.conn:
        for row in db.query("SELECT id, pid FROM runs WHERE status = 'running'"):
            db.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ?, exit_code = NULL, "
                "error = coalesce(error, ?) WHERE id = ?",
                [now, f"process {row['pid']} ended before finishing the run", row["id"]],
            )
            marked.append(f"run {row['id']}")
        for row in db.query("SELECT id, pid FROM crawl_runs WHERE status = 'running'"):
            if process_alive(row["pid"]):
                continue
            db.execute(
                "UPDATE crawl_runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) "
                "WHERE id = ?",
                [now, row["id"]],
            )
            marked.append(f"crawl run {row['id']}")
    return marked


@dataclass
class ShopOutcome:
    """How one shop fared in a run and what reconciling it did."""

    status: str  # ok | partial | failed | suspect
    seen: int
    listed_before: int
    errors: int
    gone: int = 0
    back: int = 0
    reason: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v or k in ("status", "seen")}


def _crawler_shop_summaries(db: sqlite_utils.Database, crawl_run_id: int) -> dict[str, dict]:
    """Per-shop summaries the crawler stored in ``crawl_runs.stats`` (``{shop: {"status", ...}}``)."""
    row = db.execute("SELECT stats FROM crawl_runs WHERE id = ?", [crawl_run_id]).fetchone()
    try:
        data = json.loads(row[0]) if row and row[0] else {}
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    shops = data.get("shops", data)
    return (
        {k: v for k, v in shops.items() if isinstance(v, dict)} if isinstance(shops, dict) else {}
    )


def reconcile_shop(
    db: sqlite_utils.Database,
    shop: str,
    crawl_run_id: int,
    *,
    crawl_completed: bool,
    crawler_summary: dict | None = None,
    gone_at: str | None = None,
) -> ShopOutcome:
    """Mark the shop's unseen listings gone and its returning listings back, when its answer is sound.

    Listings seen by this crawl (``last_run_id``) that had ``gone_since`` are always cleared (seeing
    them is proof). Unseen listings get ``gone_since`` only when the shop answered normally: the
    crawl completed, the crawler did not call the shop failed, and the shop did not suddenly lose
    most of its listings (``suspect``). A product page that failed with anything but 404/410 this run
    is not evidence either way, so its listing is left alone.

    Whether the shop was seen is read from the database (``last_run_id``), not from the crawler's
    counts, so listings confirmed unchanged by a 304 (``crawler.incremental``) count as seen.
    """
    gone_at = gone_at or utc_now()
    params = {"shop": shop, "run": crawl_run_id}
    seen = db.execute(
        "SELECT count(*) FROM listings WHERE shop = :shop AND last_run_id = :run", params
    ).fetchone()[0]
    listed_before = db.execute(
        """SELECT count(*) FROM listings l
           WHERE shop = :shop AND gone_since IS NULL
             AND l.id NOT IN (SELECT listing_id FROM listing_events
                              WHERE run_id = :run AND event = 'appeared')""",
        params,
    ).fetchone()[0]
    errors = db.execute(
        "SELECT count(*) FROM crawl_errors WHERE shop = :shop AND run_id = :run", params
    ).fetchone()[0]

    crawler_status = (crawler_summary or {}).get("status")
    finish_reason = (crawler_summary or {}).get("finish_reason")
    outcome = ShopOutcome("ok", seen, listed_before, errors)
    if not crawl_completed:
        outcome.status, outcome.reason = "failed", "the crawl did not complete"
    elif seen == 0 and listed_before > 0:
        outcome.status = "suspect"
        outcome.reason = f"found nothing where it had {listed_before} listings"
    elif listed_before >= SUSPECT_MIN_LISTINGS and seen < listed_before * SUSPECT_SHARE:
        outcome.status = "suspect"
        outcome.reason = f"found {seen} of its {listed_before} listings"
    elif seen == 0 and (errors or crawler_status == "failed"):
        outcome.status = "failed"
        outcome.reason = f"nothing stored, {errors} errors"
    elif finish_reason not in (None, "", "finished"):
        outcome.status = "failed"
        outcome.reason = f"the shop's crawl ended early ({finish_reason})"
    elif unattributed := _errors_not_on_listing_pages(db, shop, crawl_run_id):
        # A feed page or sitemap that failed hides an unknown set of products.
        outcome.status = "partial"
        outcome.reason = f"{unattributed} failed pages that list products (feeds, sitemaps)"

    with db.conn:
        outcome.back = db.execute(
            """UPDATE listings SET gone_since = NULL
               WHERE shop = :shop AND last_run_id = :run AND gone_since IS NOT NULL""",
            params,
        ).rowcount
        if outcome.status == "ok":
            outcome.gone = db.execute(
                f"""UPDATE listings SET gone_since = :gone_at
                   WHERE shop = :shop AND gone_since IS NULL
                     AND (last_run_id IS NULL OR last_run_id != :run)
                     AND coalesce(url, '') NOT IN (
                         SELECT url FROM crawl_errors
                         WHERE run_id = :run AND shop = :shop AND url IS NOT NULL
                           AND coalesce(status, 0) NOT IN {GONE_HTTP_STATUSES})""",
                {**params, "gone_at": gone_at},
            ).rowcount
    return outcome


def _errors_not_on_listing_pages(db: sqlite_utils.Database, shop: str, crawl_run_id: int) -> int:
    """Hard errors of this run on URLs that are not a stored listing's page (404/410 aside)."""
    return db.execute(
        f"""SELECT count(*) FROM crawl_errors
            WHERE run_id = :run AND shop = :shop AND kind NOT IN {SOFT_ERROR_KINDS}
              AND coalesce(status, 0) NOT IN {GONE_HTTP_STATUSES}
              AND coalesce(url, '') NOT IN (
                  SELECT url FROM listings WHERE shop = :shop AND url IS NOT NULL)""",
        {"shop": shop, "run": crawl_run_id},
    ).fetchone()[0]


@dataclass
class RunResult:
    run_id: int | None
    status: str
    exit_code: int
    summary: str
    crawl_run_id: int | None = None
    shops: dict[str, ShopOutcome] = field(default_factory=dict)
    log_path: Path | None = None


def serumscope_command() -> list[str]:
    """The command line that starts this installation's CLI in a child process."""
    script = Path(sys.executable).with_name("serumscope")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from serumscope.cli import cli; cli()"]


def _die_with_parent() -> None:
    """In the child: get SIGKILL if the parent run dies, so no orphan crawl outlives its run."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
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


def _change_counts(db: sqlite_utils.Database, crawl_run_id: int) -> dict[str, int]:
    queries = {
        "new": "SELECT count(*) FROM listing_events WHERE run_id = ? AND event = 'appeared'",
        "prices": """SELECT count(*) FROM variant_changes
                     WHERE run_id = ? AND change = 'changed' AND old_price IS NOT new_price""",
        "reformulated": "SELECT count(*) FROM ingredient_changes WHERE run_id = ? AND kind = 'changed'",
    }
    return {k: db.execute(q, [crawl_run_id]).fetchone()[0] for k, q in queries.items()}


class _Cycle:
    """The state of one ``serumscope run`` while it runs."""

    def __init__(self, sites_path, db_path, log_dir, rubrics, echo, crawl_settings=()):
        self.sites_path, self.db_path, self.log_dir = sites_path, db_path, log_dir
        self.rubrics, self.echo = list(rubrics), echo
        self.crawl_settings = list(crawl_settings)
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
        ]
        self.note("crawl: " + " ".join(command))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads started yet in this process
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

    def rubrics_to_evaluate(self) -> list[str]:
        """The rubrics asked for, else ``post`` and every rubric the database already holds scores of
        (so no stored evaluation goes stale)."""
        if self.rubrics:
            return self.rubrics
        stored = [r[0] for r in self.db.execute("SELECT DISTINCT rubric FROM evaluations")]
        return ["post", *sorted(set(stored) - {"post"})]

    def evaluate(self) -> tuple[int | None, str | None]:
        self.set_phase("evaluate")
        evaluated, errors = 0, []
        for rubric in self.rubrics_to_evaluate():
            try:
                from serumscope.evaluation_store import evaluate_db

                result = evaluate_db(self.db, rubric=rubric)
            except Exception as error:  # a failed evaluation must not lose the crawl's record
                self.note(f"evaluation with rubric {rubric} failed:\n" + traceback.format_exc())
                errors.append(f"evaluation ({rubric}) failed: {error}")
                continue
            self.note(f"evaluation ({rubric}): {result}")
            if isinstance(result, dict) and isinstance(result.get("evaluated"), int):
                evaluated = max(evaluated, result["evaluated"])  # listings, not (listing, rubric)
        return evaluated, "; ".join(errors) or None

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


def _overall(shops: dict[str, ShopOutcome], evaluation_error: str | None) -> tuple[str, int]:
    statuses = [s.status for s in shops.values()]
    answered = statuses.count("ok") + statuses.count("partial")
    if answered == 0:
        status = "suspect" if "suspect" in statuses else "failed"
        return status, EXIT_FAILED
    if answered < len(statuses) or "partial" in statuses:
        return ("suspect" if "suspect" in statuses else "partial"), EXIT_PARTIAL
    if evaluation_error:
        return "partial", EXIT_PARTIAL
    return "ok", EXIT_OK


def run_once(
    sites_path: Path,
    db_path: Path,
    log_dir: Path | None = None,
    *,
    rubrics: list[str] | tuple[str, ...] = (),
    crawl_settings: list[str] | tuple[str, ...] = (),
    echo: Callable[..., None] | None = None,
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

    with run_lock(db_path), _signals_raise():
        cycle = _Cycle(Path(sites_path), db_path, log_dir, rubrics, echo, crawl_settings)
        try:
            cycle.start()
            crawl_run_id, completed = cycle.crawl()
            cycle.set_phase("reconcile")
            shops: dict[str, ShopOutcome] = {}
            if crawl_run_id is None:
                shops = {
                    name: ShopOutcome("failed", 0, 0, 0, reason="the crawl recorded no run")
                    for name in shop_names
                }
            else:
                crawler_summaries = _crawler_shop_summaries(cycle.db, crawl_run_id)
                gone_at = utc_now()
                for name in shop_names:
                    shops[name] = reconcile_shop(
                        cycle.db,
                        name,
                        crawl_run_id,
                        crawl_completed=completed,
                        crawler_summary=crawler_summaries.get(name),
                        gone_at=gone_at,
                    )
                    cycle.note(f"shop {name}: {shops[name].as_dict()}")
            cycle.db["runs"].update(cycle.run_id, {"crawl_run_id": crawl_run_id})
            evaluated, evaluation_error = cycle.evaluate()
            status, exit_code = _overall(shops, evaluation_error)
            changes = _change_counts(cycle.db, crawl_run_id) if crawl_run_id else {}
            summary = _summary_line(
                cycle.run_id, status, shops, changes, evaluated, evaluation_error, cycle
            )
            result = RunResult(
                cycle.run_id, status, exit_code, summary, crawl_run_id, shops, cycle.log_path
            )
            cycle.finish(
                result,
                listings_seen=sum(s.seen for s in shops.values()),
                gone=sum(s.gone for s in shops.values()),
                back=sum(s.back for s in shops.values()),
                evaluated=evaluated,
                error=evaluation_error,
            )
            return result
        except RunInterrupted as interrupt:
            if cycle.run_id is not None:
                cycle.db["runs"].update(
                    cycle.run_id,
                    {
                        "status": "interrupted",
                        "finished_at": utc_now(),
                        "exit_code": 128 + interrupt.signum,
                        "error": f"stopped by {interrupt}",
                    },
                )
                cycle.note(f"run {cycle.run_id} interrupted by {interrupt}")
            raise
        except Exception as error:  # record what went wrong where the user looks, then report it
            if cycle.run_id is None:
                raise
            failed_in = cycle.phase[0] if cycle.phase else "start"
            cycle.note("run failed:\n" + traceback.format_exc())
            summary = (
                f"run {cycle.run_id} failed: {type(error).__name__}: {error}; log {cycle.log_path}"
            )
            result = RunResult(
                cycle.run_id, "failed", EXIT_FAILED, summary, log_path=cycle.log_path
            )
            cycle.finish(result, phase=failed_in, error=f"{type(error).__name__}: {error}")
            return result
        finally:
            cycle.close()


def _summary_line(run_id, status, shops, changes, evaluated, evaluation_error, cycle) -> str:
    by_status: dict[str, list[str]] = {}
    for name, outcome in shops.items():
        by_status.setdefault(outcome.status, []).append(name)
    shop_text = ", ".join(
        f"{len(names)} {state}" + (f" ({' '.join(names)})" if state != "ok" else "")
        for state, names in sorted(by_status.items())
    )
    parts = [
        f"run {run_id} {status}: shops {shop_text or 'none'}",
        f"{sum(s.seen for s in shops.values())} listings seen",
        f"{changes.get('new', 0)} new",
        f"{sum(s.gone for s in shops.values())} gone",
        f"{sum(s.back for s in shops.values())} back",
        f"{changes.get('prices', 0)} price changes",
        f"{changes.get('reformulated', 0)} reformulated",
        evaluation_error or f"{evaluated if evaluated is not None else '?'} evaluated",
        f"{time.monotonic() - cycle.started:.1f}s",
        f"log {cycle.log_path}",
    ]
    return "; ".join(parts)


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``6h``, ``1d`` or combinations like ``1h30m`` into a timedelta."""
    import re

    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    cleaned = text.strip().lower()
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", cleaned)
    if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhd])", "", cleaned).strip():
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 6h, 1d or 1h30m")
    delta = timedelta()
    for number, unit in parts:
        delta += timedelta(**{units[unit]: float(number)})
    if delta.total_seconds() <= 0:
        raise ValueError(f"{text!r}: the interval must be longer than zero")
    return delta


def schedule_loop(
    run_arguments: list[str],
    every: timedelta,
    *,
    max_runs: int | None = None,
    echo: Callable[..., None] = print,
) -> int:
    """Start ``serumscope run <run_arguments>`` every ``every`` until SIGTERM/SIGINT (or ``max_runs``).

    Each cycle is a child process, so a crash or a leak in one run cannot take the loop down; the
    run's own lock makes overlapping impossible even with cron running runs too. A run that takes
    longer than the interval is followed at once by the next (no backlog of missed runs).
    """
    stop = threading.Event()
    current: dict[str, subprocess.Popen] = {}

    def request_stop(signum, _frame):
        echo(f"{utc_now()} schedule: {signal.Signals(signum).name} received, stopping")
        stop.set()
        child = current.get("run")
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    runs = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            echo(f"{utc_now()} schedule: starting run {runs + 1}")
            child = subprocess.Popen(
                [*serumscope_command(), "run", *run_arguments], stdin=subprocess.DEVNULL
            )
            current["run"] = child
            code = child.wait()
            current.pop("run", None)
            runs += 1
            meaning = {
                EXIT_OK: "ok",
                EXIT_PARTIAL: "partial",
                EXIT_FAILED: "failed",
                EXIT_LOCKED: "skipped: another run holds the lock",
            }.get(code, "interrupted" if code in (130, 143, -15, -2) else "crashed")
            echo(f"{utc_now()} schedule: run {runs} exited with status {code} ({meaning})")
            if max_runs is not None and runs >= max_runs:
                break
            wait = max(0.0, every.total_seconds() - (time.monotonic() - started))
            next_at = datetime.now(UTC) + timedelta(seconds=wait)
            echo(f"{utc_now()} schedule: next run at {next_at.strftime('%Y-%m-%dT%H:%M:%SZ')}")
            stop.wait(wait)
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    echo(f"{utc_now()} schedule: stopped after {runs} runs")
    return 0
