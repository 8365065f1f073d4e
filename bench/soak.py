"""Soak: 50 concurrent clients for 60 s on a mix of pages of a real `serumscope serve`, while
`serumscope run` crawls the demo shops twice (day 1, then day 2) into the database it serves.

    .venv/bin/python bench/soak.py [--clients 50] [--seconds 60] [--db PATH]

The site runs with its public defaults (no arbitrary SQL, the per-client rate limit on): each client
speaks from its own loopback address (127.0.0.11, .12, ...), as separate visitors would. Prints the
error count (5xx, transport errors and unexpected 4xx; answers of 429 are counted apart), p50/p99
latency per page kind and overall, the server's memory (peak and at the end) and both runs' exit
statuses. Goal: 0 errors, 0 refused by the rate limit, p99 under 2 s, server peak under 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serumscope.child_process import serumscope_command  # noqa: E402
from serumscope.demo import DemoShops  # noqa: E402
from serumscope.site import listing_path  # noqa: E402

GOAL = "0 errors, 0 rate-limited, p99 < 2 s, server peak < 500 MB"


def pages(listing_ids: list[str], rng: random.Random) -> dict[str, object]:
    return {
        "home": "/",
        "listing": lambda: listing_path(rng.choice(listing_ids)),
        "scores table": "/serumscope/scores?_sort_desc=score",
        "scores.json facet": "/serumscope/scores.json?_facet=shop&verdict=recommend",
        "search": "/serumscope/search.json?q=ferulic",
        "canned query": "/serumscope/best_picks.json?max_price_per_30ml=40",
        "changes": "/serumscope/changes_since_last_run.json",
        "dashboard": "/-/dashboards/overview",
        "methodology": "/methodology",
        "atom feed": "/serumscope/feed.atom",
    }


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of ``pid`` in MB."""
    status = Path(f"/proc/{pid}/status").read_text()

    def field(name: str) -> float:
        return int(status.split(f"{name}:")[1].split()[0]) / 1024

    return field("VmHWM"), field("VmRSS")


async def client(
    number: int, base: str, kinds: dict, deadline: float, results: list, counts: Counter
) -> None:
    rng = random.Random(number)
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{11 + number}")
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=30) as http:
        while time.monotonic() < deadline:
            kind = rng.choice(list(kinds))
            path = kinds[kind]() if callable(kinds[kind]) else kinds[kind]
            started = time.perf_counter()
            try:
                response = await http.get(path)
                status = response.status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            results.append((kind, time.perf_counter() - started))
            counts[status] += 1


def run_twice(shops: DemoShops, sites: Path, db: Path, outcomes: list, seconds: float) -> None:
    """Day 1 at the start of the soak, day 2 half-way through."""
    started = time.monotonic()
    for day, at in ((1, 0.0), (2, seconds / 2)):
        time.sleep(max(0.0, started + at - time.monotonic()))
        shops.set_day(day)
        done = subprocess.run(
            [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db), "--quiet"],
            capture_output=True,
            text=True,
        )
        outcomes.append((day, done.returncode, done.stdout.strip()[:200]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--db", type=Path, help="database to use (default: a temporary one)")
    args = parser.parse_args()
    if not 1 <= args.clients <= 200:
        raise SystemExit("--clients must be 1..200 (one loopback address each)")
    folder = Path(tempfile.mkdtemp(prefix="serumscope-soak-"))
    db = args.db or folder / "soak.db"
    with DemoShops() as shops:
        sites = shops.write_sites(folder / "sites.toml")
        first = subprocess.run(
            [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db), "--quiet"],
            capture_output=True,
            text=True,
        )
        print(f"setup run: exit {first.returncode}: {first.stdout.strip()[:120]}")
        import sqlite3

        with sqlite3.connect(db) as conn:
            listing_ids = [row[0] for row in conn.execute("select id from listings")]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*serumscope_command(), "serve", "--db", str(db), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    httpx.get(base + "/-/versions.json", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            outcomes: list = []
            runs = threading.Thread(
                target=run_twice, args=(shops, sites, db, outcomes, args.seconds)
            )
            results: list[tuple[str, float]] = []
            counts: Counter = Counter()
            kinds = pages(listing_ids, random.Random(1))
            started = time.monotonic()
            runs.start()

            async def soak() -> None:
                deadline = time.monotonic() + args.seconds
                await asyncio.gather(
                    *(
                        client(n, base, kinds, deadline, results, counts)
                        for n in range(args.clients)
                    )
                )

            asyncio.run(soak())
            elapsed = time.monotonic() - started
            runs.join()
            peak, current = memory_mb(server.pid)
        finally:
            server.terminate()
            server.wait(10)
    report(args, results, counts, elapsed, peak, current, outcomes)
    return 0


def report(args, results, counts, elapsed, peak, current, outcomes) -> None:
    def quantiles(times: list[float]) -> str:
        if len(times) < 2:
            return "-"
        cuts = statistics.quantiles(times, n=100)
        return f"p50 {cuts[49] * 1000:7.0f} ms  p99 {cuts[98] * 1000:7.0f} ms"

    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, seconds in results:
        by_kind[kind].append(seconds)
    rate_limited = counts.get(429, 0)
    errors = sum(n for status, n in counts.items() if status not in (200, 429))
    print(f"goal: {GOAL}")
    print(f"{args.clients} clients, {elapsed:.0f} s, {len(results)} requests "
          f"({len(results) / elapsed:.0f}/s); statuses {dict(counts)}")  # fmt: skip
    for kind, times in sorted(by_kind.items()):
        print(f"  {kind:<20} {len(times):>6}  {quantiles(times)}")
    print(f"  {'all':<20} {len(results):>6}  {quantiles([s for _, s in results])}")
    print(f"errors: {errors}; refused by the rate limit (429): {rate_limited}")
    print(f"server memory: peak {peak:.0f} MB, at the end {current:.0f} MB")
    for day, code, summary in outcomes:
        print(f"serumscope run (day {day}) during the soak: exit {code}: {summary}")


if __name__ == "__main__":
    sys.exit(main())
