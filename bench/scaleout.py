"""Distributed crawl scale-out: pages/s and CPU per page with 1, 2 and 4 `serumscope worker`s sharing a
real redis-server frontier, against a local single-process crawl of the same generated shop.

Each round crawls the shop once per side, in this order: local, 1 worker, 2 workers, 4 workers. Each
crawl goes into a fresh database, and Redis is emptied between crawls. Two shop modes:
- the shop answers at once;
- the shop waits a fixed delay per page, as a remote shop would (default 50 ms).

For each side it prints the median pages/s and its spread, and the CPU seconds per 1,000 pages of
every serumscope process together (crawl/ingest plus workers: child rusage). It also prints the ingest
rate: listings stored per second of the crawl process's wall time. Beside the goals of issue 16 it
prints:
- with the 50 ms shop, 2 workers ≥ 1.8× one worker's pages/s;
- Redis overhead ≤ 15% CPU per page: 1 worker against the local crawl, with the shop answering at once.

Settings: serumscope's shipped ones, except on every side alike
- AutoThrottle: off;
- with the shop answering at once, the concurrency: 32 requests, all to the one shop, so each process
  works rather than waits on politeness (as in bench/crawl.py).
The remote shop keeps the shipped 4 requests at a time per shop. Politeness is per worker today
(docs/scaling.md), so N workers send N times the requests: that is where more workers help.

    .venv/bin/python bench/scaleout.py [--pages 1000] [--delay 0.05] [--rounds 3] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from distributed import RedisServer  # noqa: E402  (the tests' real redis-server helper)

from serumscope.demo.generated import GeneratedShops  # noqa: E402

SERUMSCOPE = str(Path(sys.executable).parent / "serumscope")
# The shop answering at once: as much concurrency as the machine takes, so the CPU per page shows.
FAST_SETTINGS = [
    "CONCURRENT_REQUESTS=32",
    "CONCURRENT_REQUESTS_PER_DOMAIN=32",
    "AUTOTHROTTLE_ENABLED=false",
]
# The remote shop: the shipped politeness (4 requests at a time per shop and worker), which is what
# makes a crawl wait on a slow shop and more workers worth having.
REMOTE_SETTINGS = ["AUTOTHROTTLE_ENABLED=false"]
GOAL_SPEEDUP = 1.8
GOAL_OVERHEAD = 0.15


def _setting_args(settings: list[str]) -> list[str]:
    return [arg for setting in settings for arg in ("-s", setting)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sites(folder: Path, shops: GeneratedShops) -> Path:
    entry = shops.sites_entry()
    path = folder / "sites.toml"
    path.write_text(
        "[[shop]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in entry.items())
    )
    return path


def _stored(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM listings").fetchone()[0]
    finally:
        conn.close()


def crawl_once(
    workers: int, sites: Path, folder: Path, redis: RedisServer, settings: list[str]
) -> dict:
    """One crawl: local when ``workers`` is 0, else distributed with that many workers."""
    db = folder / f"crawl-{workers}-{time.monotonic_ns()}.db"
    setting_args = _setting_args(settings)
    base = [SERUMSCOPE, "crawl", "--sites", str(sites), "--db", str(db), "--quiet", *setting_args]
    cpu_before, started = _children_cpu(), time.perf_counter()
    if workers == 0:
        subprocess.run(base, check=True, capture_output=True, timeout=1800)
    else:
        import redis as redis_client

        redis_client.Redis.from_url(redis.url).flushall()
        crawl = subprocess.Popen([*base, "--redis", redis.url], stdout=subprocess.DEVNULL)
        pool = [
            subprocess.Popen(
                [SERUMSCOPE, "worker", "--redis", redis.url, "--wait", "60", *setting_args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        if crawl.wait(timeout=1800) != 0:
            raise RuntimeError(f"distributed crawl with {workers} workers failed")
        for worker in pool:
            worker.wait(timeout=120)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    pages = _stored(db)
    db.unlink(missing_ok=True)
    return {"wall": wall, "cpu": cpu, "pages": pages}


def _median_spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}-{max(values):,.1f})"


def measure(pages: int, delay: float, rounds: int, sides: list[int], folder: Path, redis) -> dict:
    results: dict[int, list[dict]] = {side: [] for side in sides}
    settings = REMOTE_SETTINGS if delay else FAST_SETTINGS
    with GeneratedShops(pages, delay=delay) as shops:
        sites = _sites(folder, shops)
        for round_number in range(1, rounds + 1):
            for side in sides:  # local, 1, 2, 4 workers ... in every round
                result = crawl_once(side, sites, folder, redis, settings)
                results[side].append(result)
                name = "local" if side == 0 else f"{side} worker(s)"
                print(
                    f"  round {round_number} {name:>11}: {result['pages']} pages in "
                    f"{result['wall']:.1f} s, {result['cpu']:.1f} CPU s",
                    flush=True,
                )
    return results


def report(title: str, results: dict[int, list[dict]]) -> dict[int, float]:
    print(f"\n{title}")
    print(f"  {'side':>11}  {'pages/s median (spread)':>26}  {'CPU s per 1,000 pages':>22}")
    rates = {}
    for side, runs in results.items():
        per_second = [r["pages"] / r["wall"] for r in runs]
        cpu = [1000 * r["cpu"] / max(r["pages"], 1) for r in runs]
        rates[side] = statistics.median(per_second)
        name = "local" if side == 0 else f"{side} worker(s)"
        print(f"  {name:>11}  {_median_spread(per_second):>26}  {_median_spread(cpu):>22}")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per page, remote mode")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    sides = [0, *(int(n) for n in args.workers.split(","))]
    print(
        f"Goals (issue 16): with a {args.delay * 1000:.0f} ms shop, 2 workers >= {GOAL_SPEEDUP}x one "
        f"worker's pages/s; Redis overhead <= {GOAL_OVERHEAD:.0%} CPU per page (1 worker vs local)."
    )
    print(
        f"Settings: shipped, except on every side {', '.join(FAST_SETTINGS)} (shop answering at "
        f"once) and {', '.join(REMOTE_SETTINGS)} (remote shop: the shipped 4 requests per shop)."
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        redis = RedisServer(folder)
        redis.start()
        try:
            print(f"\nShop answering at once, {args.pages} pages:")
            fast = measure(args.pages, 0.0, args.rounds, sides, folder, redis)
            print(f"\nShop answering after {args.delay * 1000:.0f} ms a page, {args.pages} pages:")
            slow = measure(args.pages, args.delay, args.rounds, sides, folder, redis)
        finally:
            redis.stop()
    report("Shop answering at once", fast)
    slow_rates = report(f"Shop answering after {args.delay * 1000:.0f} ms", slow)
    cpu = {
        side: statistics.median(1000 * r["cpu"] / max(r["pages"], 1) for r in runs)
        for side, runs in fast.items()
    }
    if 1 in cpu and 0 in cpu:
        overhead = cpu[1] / cpu[0] - 1
        verdict = "met" if overhead <= GOAL_OVERHEAD else "NOT met"
        print(f"\nRedis overhead, CPU per page, 1 worker vs local: {overhead:+.0%} (goal <= "
              f"{GOAL_OVERHEAD:.0%}: {verdict})")  # fmt: skip
    if 1 in slow_rates and 2 in slow_rates:
        speedup = slow_rates[2] / slow_rates[1]
        verdict = "met" if speedup >= GOAL_SPEEDUP else "NOT met"
        print(f"2 workers vs 1, {args.delay * 1000:.0f} ms shop: {speedup:.2f}x (goal >= "
              f"{GOAL_SPEEDUP}x: {verdict})")  # fmt: skip
    ingest = [r["pages"] / r["wall"] for side, runs in fast.items() if side for r in runs]
    if ingest:
        print(f"Ingest: {statistics.median(ingest):,.0f} listings stored per second of a "
              "distributed crawl (median over every worker count, shop answering at once)")  # fmt: skip


if __name__ == "__main__":
    main()
