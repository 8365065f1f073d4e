"""Starting serumscope itself in a child process (crawls, runs: Scrapy's reactor runs once per process)."""

from __future__ import annotations

import sys
from pathlib import Path


def serumscope_command() -> list[str]:
    """The command line that starts this installation's CLI in a child process."""
    script = Path(sys.executable).with_name("serumscope")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from serumscope.cli import cli; cli()"]
