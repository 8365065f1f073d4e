"""``serumscope schedule``: start ``serumscope run`` every interval until stopped.

Each run is a child process, so a crash or a leak in one cannot take the loop down, and the run's own
lock (:mod:`serumscope.runlock`) keeps runs from overlapping even with cron starting runs too.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from serumscope.child_process import serumscope_command
from serumscope.store.clock import ISO_UTC, utc_now
from serumscope.store.status import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL

DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
EXIT_MEANINGS = {
    EXIT_OK: "ok",
    EXIT_PARTIAL: "partial",
    EXIT_FAILED: "failed",
    EXIT_LOCKED: "skipped: another run holds the lock",
}
INTERRUPTED_EXITS = (130, 143, -15, -2)


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``6h``, ``1d`` or combinations like ``1h30m`` into a timedelta."""
    cleaned = text.strip().lower()
    parts = DURATION_PART.findall(cleaned)
    if not parts or DURATION_PART.sub("", cleaned).strip():
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 6h, 1d or 1h30m")
    delta = timedelta()
    for number, unit in parts:
        delta += timedelta(**{DURATION_UNITS[unit]: float(number)})
    if delta.total_seconds() <= 0:
        raise ValueError(f"{text!r}: the interval must be longer than zero")
    return delta


def exit_meaning(code: int) -> str:
    return EXIT_MEANINGS.get(code, "interrupted" if code in INTERRUPTED_EXITS else "crashed")


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
            echo(
                f"{utc_now()} schedule: run {runs} exited with status {code} ({exit_meaning(code)})"
            )
            if stop.is_set() or (max_runs is not None and runs >= max_runs):
                break
            wait = max(0.0, every.total_seconds() - (time.monotonic() - started))
            next_at = datetime.now(UTC) + timedelta(seconds=wait)
            echo(f"{utc_now()} schedule: next run at {next_at.strftime(ISO_UTC)}")
            stop.wait(wait)
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    echo(f"{utc_now()} schedule: stopped after {runs} run{'' if runs == 1 else 's'}")
    return 0
