"""Distributed crawl scale-out: pages/s and CPU per page with 1, 2 and 4 `serumscope worker`s sharing a
real redis-server frontier, against a local single-process crawl of the same generated shop.

Each round crawls the shop once per side, in this order: local, 1 worker, 2 workers, 4 workers. Each
crawl goes into a fresh database, and Redis is emptied between crawls. Workers are started and left
to wait for a run (as deploy/systemd runs them) before the crawl starts: their start-up counts in
the CPU figures, not in the crawl's time, which ends when `crawl` returns (the run stored and
finished; the workers leave after). Four runs:
- one shop answering at once;
- one shop answering after a fixed delay per page, as a remote shop would (default 50 ms);
- the same pages spread over several such remote shops (default 8), as a market crawl is;
- worker-bound: a few such shops (default 4), each process keeping one request open per shop, so
  that each worker's own concurrency bounds it, not the shops' politeness nor the machine's cores:
  the case of workers added on more machines, where 2 workers should go 1.8x as fast as one.

For each side it prints the median pages/s and its spread, and the CPU seconds per 1,000 pages of
every serumscope process together (crawl/ingest plus workers: child rusage), and the cores busy
during the crawl (those processes, the shops' server in this process and redis-server). Each crawl
is followed by the same side's crawl of a one-page shop: its CPU is what the side costs whatever the
size (processes starting, the run's start and end; a distributed crawl starts one process more), so
the CPU per further page shows what each page costs beyond it. It also prints the ingest
rate: listings stored per second of the crawl process's wall time. Beside the goals of issue 16 it
prints:
- with the 50 ms shops, 2 workers ≥ 1.8× one worker's pages/s (per round, median and spread);
- Redis overhead ≤ 15% CPU per page: 1 worker against the local crawl, with the shop answering at once.

Settings: serumscope's shipped ones, except with the shop answering at once, on every side alike:
AutoThrottle off and 32 requests at a time, all to the one shop, so each process works rather than
waits on politeness (as in bench/crawl.py). The remote shops keep the shipped politeness (4 requests
at a time per shop, AutoThrottle). Politeness is shared by the workers
(crawler/shop_limit.py): one remote shop goes no faster with more workers (its limit, not the workers,
bounds the crawl); with several shops a worker (one process, one CPU) can be the bound, and more
workers help as far as the machine's cores allow (2 here, shared with the shops' server, Redis and the
ingest).

    .venv/bin/python bench/scaleout.py [--pages 1000] [--delay 0.05] [--shops 8] [--rounds 3]
        [--workers 1,2,4] [--runs fast,remote,market,workerbound] [--bound-shops 4]
        [--bound-pages 3000]
"""

from __future__ import annotations

import argparse
import contextlib
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

from distributed import RedisServer, shop_table  # noqa: E402  (the tests' redis-server and sites helpers)

from serumscope.demo.generated import GeneratedShops  # noqa: E402

SERUMSCOPE = str(Path(sys.executable).parent / "serumscope")
# The shop answering at once: as much concurrency as the machine takes, so the CPU per page shows.
FAST_SETTINGS = [
    "CONCURRENT_REQUESTS=32",
    "CONCURRENT_REQUESTS_PER_DOMAIN=32",
    "AUTOTHROTTLE_ENABLED=false",
]
# The remote shops: the shipped politeness (4 requests at a time per shop, AutoThrottle), shared by
# the workers. (With AutoThrottle off and no delay, Scrapy 2.19's downloader starts every queued
# request of a shop at once, past CONCURRENT_REQUESTS_PER_DOMAIN, and then waits for the burst to end:
# a local crawl would measure that, not the shop.)
REMOTE_SETTINGS: list[str] = []
# Worker-bound: each process keeps one request open per shop (Scrapy's CONCURRENT_REQUESTS counts per
# crawler, and every process runs one crawler per shop), on every side alike, so a process's own
# concurrency is what bounds it: with 4 shops, 4 requests at a time, 80 pages/s at 50 ms a page. The
# shops allow more (4 at a time each, shipped), so the politeness shared by the workers is not the
# bound, and the pages/s stay low enough that 2 workers do not run out of the 2 cores. AutoThrottle
# is off: its delay (latency / 2 = 25 ms per shop, shared) would be the bound instead.
WORKERBOUND_SETTINGS = ["CONCURRENT_REQUESTS=1", "AUTOTHROTTLE_ENABLED=false"]
WORKERS_READY_SECONDS = 3.0  # for a worker process to start and wait for a run
GOAL_SPEEDUP = 1.8
GOAL_OVERHEAD = 0.15


def _setting_args(settings: list[str]) -> list[str]:
    return [arg for setting in settings for arg in ("-s", setting)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _other_cpu(redis) -> float:
    """CPU seconds of this process (the shops' servers) and of redis-server so far."""
    import redis as redis_client

    usage = resource.getrusage(resource.RUSAGE_SELF)
    info = redis_client.Redis.from_url(redis.url).info("cpu")
    return usage.ru_utime + usage.ru_stime + info["used_cpu_sys"] + info["used_cpu_user"]


def _sites(folder: Path, shops: list[GeneratedShops]) -> Path:
    path = folder / "sites.toml"
    path.write_text("".join(shop_table(shop.sites_entry()) for shop in shops))
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
    cpu_before = _children_cpu()
    if workers == 0:
        other_before, started = _other_cpu(redis), time.perf_counter()
        subprocess.run(base, check=True, capture_output=True, timeout=1800)
    else:
        import redis as redis_client

        redis_client.Redis.from_url(redis.url).flushall()
        # As deployed (deploy/systemd/serumscope-worker@.service), workers are already waiting for
        # a run when the crawl starts: their start-up is counted in CPU, not in the crawl's time.
        pool = [
            subprocess.Popen(
                [SERUMSCOPE, "worker", "--redis", redis.url, "--wait", "60", *setting_args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        time.sleep(WORKERS_READY_SECONDS)
        other_before, started = _other_cpu(redis), time.perf_counter()
        crawl = subprocess.Popen([*base, "--redis", redis.url], stdout=subprocess.DEVNULL)
        if crawl.wait(timeout=1800) != 0:
            raise RuntimeError(f"distributed crawl with {workers} workers failed")
    # The crawl's time: until `crawl` returns, the run stored and finished (workers leave after).
    wall = time.perf_counter() - started
    if workers:
        for worker in pool:
            worker.wait(timeout=120)
    cpu = _children_cpu() - cpu_before
    other = _other_cpu(redis) - other_before
    pages = _stored(db)
    db.unlink(missing_ok=True)
    return {"wall": wall, "cpu": cpu, "pages": pages, "cores": (cpu + other) / wall}


def _median_spread(values: list[float], digits: int = 1) -> str:
    return (
        f"{statistics.median(values):,.{digits}f} "
        f"({min(values):,.{digits}f}-{max(values):,.{digits}f})"
    )


def measure(
    pages: int,
    delay: float,
    rounds: int,
    sides: list[int],
    folder: Path,
    redis,
    shops: int = 1,
    settings: list[str] = FAST_SETTINGS,
) -> dict:
    results: dict[int, list[dict]] = {side: [] for side in sides}
    with contextlib.ExitStack() as stack:
        served = [
            stack.enter_context(GeneratedShops(pages // shops, delay=delay, name=f"generated{n}"))
            for n in range(shops)
        ]
        sites = _sites(folder, served)
        # The same crawl of a one-page shop: what each side costs whatever the pages (processes
        # starting, the run's start and end), to tell the cost per page from it.
        tiny = stack.enter_context(GeneratedShops(1, delay=delay, name="tiny"))
        tiny_folder = folder / "tiny"
        tiny_folder.mkdir(exist_ok=True)
        tiny_sites = _sites(tiny_folder, [tiny])
        for round_number in range(1, rounds + 1):
            for side in sides:  # local, 1, 2, 4 workers ... in every round
                result = crawl_once(side, sites, folder, redis, settings)
                one_page = crawl_once(side, tiny_sites, folder, redis, settings)
                result["fixed_cpu"], result["fixed_wall"] = one_page["cpu"], one_page["wall"]
                results[side].append(result)
                name = "local" if side == 0 else f"{side} worker(s)"
                print(
                    f"  round {round_number} {name:>11}: {result['pages']} pages in "
                    f"{result['wall']:.1f} s, {result['cpu']:.1f} CPU s, {result['cores']:.2f} "
                    f"cores busy (one page: {result['fixed_cpu']:.1f} CPU s, "
                    f"{result['fixed_wall']:.1f} s)",
                    flush=True,
                )
    return results


def per_page_cpu(run: dict) -> float:
    """CPU ms per page beyond what the side costs for a one-page shop."""
    return 1000 * (run["cpu"] - run["fixed_cpu"]) / max(run["pages"] - 1, 1)


def report(title: str, results: dict[int, list[dict]]) -> dict[int, float]:
    print(f"\n{title}")
    print(
        f"  {'side':>11}  {'pages/s median (spread)':>24}  {'CPU s per 1,000 pages':>21}  "
        f"{'one page, CPU s':>16}  {'one page, s':>16}  {'CPU ms per further page':>23}  "
        f"{'cores busy, all':>16}"
    )
    rates = {}
    for side, runs in results.items():
        per_second = [r["pages"] / r["wall"] for r in runs]
        cpu = [1000 * r["cpu"] / max(r["pages"], 1) for r in runs]
        fixed = [r["fixed_cpu"] for r in runs]
        fixed_wall = [r["fixed_wall"] for r in runs]
        further = [per_page_cpu(r) for r in runs]
        cores = [r["cores"] for r in runs]
        rates[side] = statistics.median(per_second)
        name = "local" if side == 0 else f"{side} worker(s)"
        print(
            f"  {name:>11}  {_median_spread(per_second):>24}  {_median_spread(cpu):>21}  "
            f"{_median_spread(fixed):>16}  {_median_spread(fixed_wall):>16}  "
            f"{_median_spread(further, 2):>23}  {_median_spread(cores, 2):>16}"
        )
    return rates


def print_speedup(title: str, results: dict[int, list[dict]]) -> None:
    """2 workers against 1, round by round (the sides alternate within each round), beside the goal;
    also beyond the fixed wall time of a one-page crawl (processes starting, the finish check)."""
    ratios = [
        (two["pages"] / two["wall"]) / (one["pages"] / one["wall"])
        for one, two in zip(results[1], results[2], strict=True)
    ]
    further = [
        per_page_rate(two) / per_page_rate(one)
        for one, two in zip(results[1], results[2], strict=True)
    ]
    speedup = statistics.median(ratios)
    verdict = "met" if speedup >= GOAL_SPEEDUP else "NOT met"
    print(f"2 workers vs 1, {title}: {_median_spread(ratios, 2)}x, median (spread) of "
          f"{len(ratios)} rounds (goal >= {GOAL_SPEEDUP}x: {verdict}); beyond a one-page "
          f"crawl's wall time: {_median_spread(further, 2)}x")  # fmt: skip


def per_page_rate(run: dict) -> float:
    """Pages/s beyond the wall time the side takes for a one-page shop."""
    return (run["pages"] - 1) / max(run["wall"] - run["fixed_wall"], 1e-3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per page, remote mode")
    parser.add_argument("--shops", type=int, default=8, help="remote shops in the market run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--bound-shops", type=int, default=4, help="shops in the workerbound run")
    parser.add_argument(
        "--bound-pages", type=int, default=3000, help="pages of the workerbound run"
    )
    parser.add_argument(
        "--runs", default="fast,remote,market,workerbound", help="which runs, comma-separated"
    )
    args = parser.parse_args()
    sides = [0, *(int(n) for n in args.workers.split(","))]
    runs = args.runs.split(",")
    delay_ms = f"{args.delay * 1000:.0f} ms"
    print(
        f"Goals (issue 16): with {delay_ms} shops, 2 workers >= {GOAL_SPEEDUP}x one worker's "
        f"pages/s; Redis overhead <= {GOAL_OVERHEAD:.0%} CPU per page (1 worker vs local)."
    )
    print(
        f"Settings: shipped, except on every side {', '.join(FAST_SETTINGS)} (shop answering at "
        "once); remote shops: shipped (4 requests at a time per shop, AutoThrottle), shared by the "
        f"workers; worker-bound run: {', '.join(WORKERBOUND_SETTINGS)} on every side, so that each "
        f"process keeps {args.bound_shops} requests open (one per shop: Scrapy counts "
        "CONCURRENT_REQUESTS per crawler, one crawler per shop) and that, not the shops' politeness "
        "(4 at a time per shop, shared by the workers) nor the 2 cores, bounds it."
    )
    results = {}
    titles = {
        "fast": f"One shop answering at once, {args.pages} pages",
        "remote": f"One shop answering after {delay_ms} a page, {args.pages} pages",
        "market": f"{args.shops} shops answering after {delay_ms} a page, {args.pages} pages in all",
        "workerbound": f"{args.bound_shops} shops answering after {delay_ms} a page, "
        f"{args.bound_pages} pages in all, each process keeping one request open per shop",
    }
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        redis = RedisServer(folder)
        redis.start()
        try:
            for run in runs:
                print(f"\n{titles[run]}:")
                delay = 0.0 if run == "fast" else args.delay
                shops = {"market": args.shops, "workerbound": args.bound_shops}.get(run, 1)
                pages = args.bound_pages if run == "workerbound" else args.pages
                settings = {"fast": FAST_SETTINGS, "workerbound": WORKERBOUND_SETTINGS}
                results[run] = measure(
                    pages, delay, args.rounds, sides, folder, redis, shops,
                    settings.get(run, REMOTE_SETTINGS),
                )  # fmt: skip
        finally:
            redis.stop()
    rates = {run: report(titles[run], results[run]) for run in runs}
    print()
    if "fast" in results and 0 in sides and 1 in sides:
        fast = results["fast"]
        cpu = {
            side: statistics.median(r["cpu"] / max(r["pages"], 1) for r in fast[side])
            for side in (0, 1)
        }
        further = {side: statistics.median(per_page_cpu(r) for r in fast[side]) for side in (0, 1)}
        overhead, marginal = cpu[1] / cpu[0] - 1, further[1] / further[0] - 1
        verdict = "met" if overhead <= GOAL_OVERHEAD else "NOT met"
        print(f"Redis overhead, CPU per page, 1 worker vs local: {overhead:+.0%} (goal <= "
              f"{GOAL_OVERHEAD:.0%}: {verdict}); per further page, beyond a one-page crawl's "
              f"cost: {marginal:+.0%}")  # fmt: skip
    for run in ("remote", "market", "workerbound"):
        if run in rates and 1 in rates[run] and 2 in rates[run]:
            print_speedup(titles[run], results[run])
    if "fast" in results:
        ingest = [r["pages"] / r["wall"] for side, runs in results["fast"].items() if side
                  for r in runs]  # fmt: skip
        print(f"Ingest: {statistics.median(ingest):,.0f} listings stored per second of a "
              "distributed crawl (median over every worker count, shop answering at once)")  # fmt: skip


if __name__ == "__main__":
    main()
