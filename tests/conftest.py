"""Shared fixtures. Tests never leave 127.0.0.1."""

import pytest


@pytest.fixture(scope="session")
def demo_shops():
    """The three demo shops (serumscope.demo.DemoShops) running on 127.0.0.1 for the whole session.

    Tests that call ``set_day`` must set day 1 back when they finish.
    """
    from serumscope.demo import DemoShops

    with DemoShops() as shops:
        yield shops


@pytest.fixture(scope="module")
def client():
    """A plain HTTP client for asking the demo shops."""
    import httpx

    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def catalog(demo_shops):
    """The demo shops' catalog (serumscope.demo.catalog.Catalog): the products and their expected facts."""
    return demo_shops.catalog


@pytest.fixture(scope="session")
def site_db(demo_shops, tmp_path_factory):
    """The demo shops crawled and evaluated for real into a site database, plus one hostile listing
    (tests/site_fixtures.py). Shared by the site's test files: a test that writes works on a copy."""
    from site_fixtures import write_demo_site_database

    return write_demo_site_database(demo_shops, tmp_path_factory.mktemp("site") / "site.db")


@pytest.fixture(scope="module")
def ds(site_db):
    """The site (serumscope.site.make_datasette) over ``site_db``, in-process."""
    from serumscope.site import make_datasette

    return make_datasette(site_db)


def crawl_demo_shops(demo_shops, folder, *options: str):
    """Run a real `serumscope crawl` of the demo shops into ``folder``; return (sites, db, result)."""
    import subprocess
    import sys
    from pathlib import Path

    sites = demo_shops.write_sites(folder / "sites.toml")
    db = folder / "crawl.db"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites", str(sites),
         "--db", str(db), "--quiet", *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return sites, db, result


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server a test starts."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_site(server, base: str, timeout: float = 30) -> None:
    """Block until the `serumscope serve` process ``server`` answers at ``base``."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        assert server.poll() is None, "serumscope serve exited"
        try:
            httpx.get(base + "/-/versions.json", timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "serumscope serve did not start"
            time.sleep(0.2)


@pytest.fixture
def redis(tmp_path):
    """A real redis-server on a free loopback port (tests/distributed.py), stopped after the test."""
    from distributed import redis_server_or_skip

    server = redis_server_or_skip(tmp_path)
    yield server
    server.stop()
