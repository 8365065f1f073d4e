"""Helpers of the distributed crawl tests: a real redis-server on a free loopback port, the
crawl / worker / ingest processes, and the store compared with a single-process crawl's."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import free_port

from serumscope.demo.generated import GeneratedShops
from serumscope.demo.http import ShopRequestHandler

SERUMSCOPE = str(Path(sys.executable).parent / "serumscope")
# Columns that say when (or which row), not what: they differ between any two crawls.
WHEN_COLUMNS = {
    "error_key",
    "first_seen",
    "last_seen",
    "last_run_id",
    "fetched_at",
    "occurred_at",
    "id",
    "run_id",
}


class RedisServer:
    """``redis-server`` (Debian package) on 127.0.0.1, no persistence; restartable on its port."""

    def __init__(self, folder: Path, *options: str):
        self.folder = folder
        self.options = options  # more redis-server arguments
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def redis_server_or_skip(folder: Path, *options: str) -> RedisServer:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: .ci/run installs it")
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    server = RedisServer(folder, *options)
    server.start()
    return server


def start(*arguments: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [SERUMSCOPE, *arguments], stdout=log.open("w"), stderr=subprocess.STDOUT, text=True
    )


def start_workers(redis_url: str, folder: Path, count: int, first: int = 0) -> list:
    return [
        start("worker", "--redis", redis_url, "--wait", "60", log=folder / f"worker{n}.log")
        for n in range(first, first + count)
    ]


def finish(process: subprocess.Popen, timeout: float = 240) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def shop_table(entry: dict) -> str:
    """One ``[[shop]]`` table of a sites file, from a shop's ``sites_entry()``."""
    return "[[shop]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in entry.items())


def local_crawl(sites: Path, db: Path, *options: str) -> None:
    result = subprocess.run(
        [SERUMSCOPE, "crawl", "--sites", str(sites), "--db", str(db), "--quiet", *options],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def store_contents(db: Path) -> dict[str, Counter]:
    """What a crawl stored, without its times: listings, variants and crawl errors."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    contents = {}
    for table in ("listings", "variants", "crawl_errors"):
        rows = Counter()
        for row in conn.execute(f"SELECT * FROM {table}"):
            rows[tuple(sorted((k, v) for k, v in dict(row).items() if k not in WHEN_COLUMNS))] += 1
        contents[table] = rows
    conn.close()
    return contents


@contextlib.contextmanager
def locally_crawled_shop(folder: Path, pages: int) -> Iterator[dict]:
    """A generated shop of ``pages`` products served meanwhile (10 ms a page), its sites file and a
    local crawl of it: ``{"sites", "db", "local"}`` (``local``: what that crawl stored)."""
    with GeneratedShops(pages, delay=0.01) as generated:
        sites = folder / "sites.toml"
        sites.write_text(shop_table(generated.sites_entry()))
        local_crawl(sites, folder / "local.db")
        yield {
            "sites": sites,
            "db": folder / "local.db",
            "local": store_contents(folder / "local.db"),
        }


def differences(one: dict[str, Counter], other: dict[str, Counter]) -> dict[str, list]:
    return {
        table: [*(one[table] - other[table]).elements(), *(other[table] - one[table]).elements()]
        for table in one
        if one[table] != other[table]
    }


class RequestLog:
    """Server-side log of the requests the served shops answered: (shop URL, path with query)."""

    def __init__(self, *served):
        self.entries: list[tuple[str, str]] = []
        self.servers = [server for shops in served for server in shops.servers.values()]
        self.lock = threading.Lock()

    def __enter__(self):
        for server in self.servers:
            server.shop = LoggedShop(server.shop, server.url, self)
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.shop = server.shop.shop

    def repeated(self, allowed=("/robots.txt",)) -> dict[tuple[str, str], int]:
        """Requests answered more than once (robots.txt is read by each worker: ``allowed``)."""
        counts = Counter(self.entries)
        return {key: n for key, n in counts.items() if n > 1 and key[1] not in allowed}


class LoggedShop:
    def __init__(self, shop, url: str, log: RequestLog):
        self.shop, self.url, self.log = shop, url, log

    @property
    def base_url(self):
        return self.shop.base_url

    def respond(self, path, query):
        target = path + ("?" + urlencode(query, doseq=True) if query else "")
        with self.log.lock:
            self.log.entries.append((self.url, target))
        return self.shop.respond(path, query)


class StatusLog:
    """Server-side log of the status each served shop answered with: (shop URL, path, status)."""

    def __init__(self, *served):
        self.entries: list[tuple[str, str, int]] = []
        self.servers = [server for shops in served for server in shops.servers.values()]

    def __enter__(self):
        for server in self.servers:
            server.RequestHandlerClass = status_logging_handler(self.entries)
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.RequestHandlerClass = ShopRequestHandler

    def statuses(self) -> Counter:
        return Counter(status for _url, _path, status in self.entries)


def status_logging_handler(entries: list) -> type:
    class StatusLoggingHandler(ShopRequestHandler):
        def send_response(self, code, message=None):
            entries.append((self.server.url, self.path, code))  # list.append: thread-safe
            super().send_response(code, message)

    return StatusLoggingHandler


class ShopLoad:
    """What the served shops go through: the most requests answered at once per shop, and when each
    request came (monotonic seconds, per shop)."""

    def __init__(self, *served):
        self.servers = [server for shops in served for server in shops.servers.values()]
        self.lock = threading.Lock()
        self.in_flight: Counter = Counter()
        self.most: Counter = Counter()
        self.arrivals: dict[str, list[float]] = {server.url: [] for server in self.servers}

    def __enter__(self):
        for server in self.servers:
            server.shop = LoadedShop(server.shop, server.url, self)
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.shop = server.shop.shop


class LoadedShop:
    def __init__(self, shop, url: str, load: ShopLoad):
        self.shop, self.url, self.load = shop, url, load

    @property
    def base_url(self):
        return self.shop.base_url

    def respond(self, path, query):
        load = self.load
        with load.lock:
            load.arrivals[self.url].append(time.monotonic())
            load.in_flight[self.url] += 1
            load.most[self.url] = max(load.most[self.url], load.in_flight[self.url])
        try:
            return self.shop.respond(path, query)
        finally:
            with load.lock:
                load.in_flight[self.url] -= 1
