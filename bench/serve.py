"""Benchmark the site: 100,000 generated listings, `serumscope serve`, 10 concurrent clients.

Measures requests/s and p50/p99 latency for the pages people and API users hit, beside Datasette's
plain table JSON for the same view as the baseline (goal: every p99 within 1.5x of the baseline's).

    .venv/bin/python bench/serve.py [--listings 100000] [--requests 300] [--clients 10] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from serumscope.site import listing_path
from serumscope.store.database import open_db

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from site_fixtures import write_generated_listings  # noqa: E402  (a test fixture, not the package)

BASELINE = "plain table JSON (baseline)"


def endpoints(listing_ids: list[str]) -> dict[str, object]:
    rng = random.Random(3)
    return {
        BASELINE: "/serumscope/scores.json",
        "home page": "/",
        "scores.json by score, price filter": (
            "/serumscope/scores.json?_sort_desc=score&price_per_30ml__lt=30"
        ),
        "facet query (verdict=recommend)": "/serumscope/scores.json?verdict=recommend&_facet=price_band",
        "full-text search": "/serumscope/scores.json?_search=moringa+seed",
        "search canned query": "/serumscope/search.json?q=moringa+seed",
        "listing page": lambda: listing_path(rng.choice(listing_ids)),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serumscope serve exited with status {process.returncode}")
        try:
            if httpx.get(base_url + "/-/versions.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("serumscope serve did not start")


async def measure(base_url: str, path, requests: int, clients: int) -> dict:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue = asyncio.Queue()
    for _ in range(requests):
        queue.put_nowait(path() if callable(path) else path)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            url = queue.get_nowait()
            started = time.perf_counter()
            response = await http.get(url)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        await http.get(path() if callable(path) else path)  # warm caches once
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--db", type=Path, help="reuse (or create) this database")
    parser.add_argument(
        "--setting",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="Datasette setting passed to serumscope serve (repeatable)",
    )
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory()
    db_path = args.db or Path(folder.name) / "bench.db"
    db = open_db(db_path)
    if db["listings"].count < args.listings:
        started = time.perf_counter()
        write_generated_listings(db, args.listings - db["listings"].count)
        print(f"generated {args.listings:,} listings in {time.perf_counter() - started:.1f} s")
    listing_ids = [row[0] for row in db.execute("select id from listings limit 5000").fetchall()]
    db.close()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from serumscope.cli import cli; cli()"]
    server = subprocess.Popen(
        # --rate-limit 0: the benchmark's clients are one address asking far faster than a visitor
        [*command, "serve", "--db", str(db_path), "--port", str(port), "--no-refresh"]
        + ["--rate-limit", "0"]
        + [part for name, value in args.setting for part in ("--setting", name, value)],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base_url, server)
        results = {}
        for name, path in endpoints(listing_ids).items():
            results[name] = asyncio.run(measure(base_url, path, args.requests, args.clients))
    finally:
        server.terminate()
        server.wait(10)
        folder.cleanup()

    baseline_p99 = results[BASELINE]["p99"]
    settings = " ".join(f"{name}={value}" for name, value in args.setting) or "serumscope defaults"
    print(f"\n{args.listings:,} listings, {args.clients} clients, {args.requests} requests each")
    print(f"settings: {settings}")
    print(f"{'endpoint':38} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'p99/base':>9} errors")
    for name, result in results.items():
        ratio = result["p99"] / baseline_p99
        flag = "" if ratio <= 1.5 else "  over 1.5x"
        print(
            f"{name:38} {result['rps']:7.1f} {result['p50']:8.1f} {result['p99']:8.1f} "
            f"{ratio:8.2f}x {result['errors']:6}{flag}"
        )


if __name__ == "__main__":
    main()
