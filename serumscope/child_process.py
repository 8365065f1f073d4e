"""Starting serumscope itself in a child process (crawls, runs: Scrapy's reactor runs once per process)."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
import threading
import time
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


class PeakMemory(threading.Thread):
    """Reads a child process's high-water resident size (VmHWM, which only grows) every 20 ms until
    it is gone; ``mb`` is the last value read. Start it right after starting the process, join it
    once the process is waited for.

    Not ``wait4``'s ``ru_maxrss``: Linux carries into a child the resident size of the process that
    forked it, so a large parent (a test run, a benchmark) is measured instead of the child."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.mb = 0.0

    def run(self) -> None:
        while True:
            try:
                text = self.status.read_text()
            except OSError:  # reaped
                return
            if "VmHWM:" not in text:  # exited (a zombie has no memory left)
                return
            self.mb = int(text.split("VmHWM:")[1].split()[0]) / 1024
            time.sleep(0.02)
