"""Starting serumscope itself in a child process (crawls, runs: Scrapy's reactor runs once per process)."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
from pathlib import Path


def serumscope_command() -> list[str]:
    """The command line that starts this installation's CLI in a child process."""
    script = Path(sys.executable).with_name("serumscope")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from serumscope.cli import cli; cli()"]


def die_with_parent() -> None:
    """In the child: get SIGKILL if the parent run dies, so no orphan crawl outlives its run."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
