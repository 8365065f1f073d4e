"""``serumscope detect`` and ``serumscope inspect``: the project's ``scrapy detect`` / ``scrapy inspect``
commands (crawler/commands/), which run the platform spiders themselves, started in a child process
because Scrapy's reactor runs once a process. What inspect shows is what a crawl would store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlparse


def _base_url(url: str, what: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url!r} is not a {what} address: give it with http:// or https://")
    return f"{parsed.scheme}://{parsed.netloc}"


def run_scrapy_command(command: str, url: str) -> dict[str, Any]:
    """The JSON a ``scrapy COMMAND URL`` of this project prints; its ``error`` raised as OSError
    (nothing answered) or ValueError."""
    environment = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", command, url],
        capture_output=True, text=True, env=environment, check=False,
    )  # fmt: skip
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(
            f"scrapy {command} {url} exited with status {done.returncode}: {done.stderr[-2000:]}"
        ) from None
    if "error" in result:
        raise (OSError if result.get("unreachable") else ValueError)(result["error"])
    return result


def detect(url: str) -> dict[str, Any]:
    """Which platform a shop runs and the sites-file table to crawl it (``shop`` is None if unknown)."""
    return run_scrapy_command("detect", _base_url(url, "shop"))


def inspect(url: str) -> dict[str, Any]:
    """The listing serumscope would store for one product URL (Shopify product, Store API product or
    product page), with ``provenance`` per field, the relevance verdict and the problems met
    (``page_errors``). Obeys robots.txt: a disallowed URL raises ValueError, and nothing but
    robots.txt is fetched."""
    _base_url(url, "product")
    return run_scrapy_command("inspect", url)["listing"]


def shop_toml(shop: dict[str, Any]) -> str:
    lines = ["[[shop]]"]
    for key, value in shop.items():
        lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)
