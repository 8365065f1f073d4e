"""One run per database at a time, and no run left ``running`` by a process that is gone.

:func:`run_lock` holds an exclusive ``flock`` on ``<db>.lock`` for the whole run; a second run fails at
once with :class:`RunLocked` (exit status 75). With the lock held, :func:`mark_interrupted_runs` marks
the ``runs`` and ``crawl_runs`` rows a killed process left ``running`` as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import sqlite_utils

from serumscope.store.clock import utc_now
from serumscope.store.database import transaction


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class RunLocked(RuntimeError):
    """Another ``serumscope run`` holds the lock on this database."""

    def __init__(self, lock_path: Path, holder: str):
        super().__init__(
            f"another serumscope run is in progress (lock {lock_path} held by {holder}); "
            "nothing done, try again later"
        )


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
    with transaction(db):
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
