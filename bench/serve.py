"""Benchmark the site: every page people open, against the plain table JSON, at 10k and 100k listings.

Goal (issue 12): every page's p99 latency within 1.2x the p99 of Datasette's plain table JSON
(`/serumscope/scores.json?_nofacet=1`) at 100,000 listings, 10 concurrent clients.

Each page is measured alternately with the baseline, A B A B ... (--rounds pairs), and the p99 ratio
of each pair is reported as its median and spread (lowest-highest), with the machine's 1-minute load
average as the page's pairs ended (other work on a shared machine widens the spread). Beside it, the
server's CPU time per request of the page over the baseline's (every thread of the process, from
Linux's /proc), which other work on the machine disturbs far less than latency. `serumscope
serve` runs with the shipped settings except `--rate-limit 0` (the bench's clients are one address
asking far faster than a visitor) and `--no-refresh` (the database is built just before). The database holds real-length
listings scored by the real evaluator and a second crawl's history (bench/site_data.py says how).

    .venv/bin/python bench/serve.py [--listings 10000,100000] [--requests 200] [--rounds 3]
        [--clients 10] [--db-dir DIR (keep and reuse the databases)] [--only REGEX]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import yaml

from serumscope.site import listing_path
from serumscope.store.database import open_db

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_data import build_site_database  # noqa: E402

GOAL = 1.2
BASELINE = "/serumscope/scores.json?_nofacet=1"
METADATA = Path(__file__).resolve().parent.parent / "datasette" / "metadata.yml"
# A value for each canned query parameter; a query with a parameter not here stops the bench.
# Empty means "any", as the page's form sends it; a shopper's filter page sets a few.
PARAMETERS = {
    "max_price_per_30ml": "30",
    "q": "moringa seed",
    "first": "Citrine",
    "second": "Halcyon",
    **dict.fromkeys(
        ["airless", "form", "fragrance_free", "light", "max_percent", "min_percent", "min_price"],
        "",
    ),
    **{"max_price": "30", "in_stock": "1", "shop": "", "sort": ""},
    **dict.fromkeys(["device_type", "material", "max_price_per_use", "min_length"], ""),
    "max_length": "1.0",
    "device": "",
    "page": "",  # the first page, as a visitor opens it
}


def named_parameters(sql: str) -> set[str]:
    """The ``:name`` parameters of a canned query (not inside a string literal or a comment)."""
    code = re.sub(r"'(?:[^']|'')*'|--[^\n]*", "", sql)
    return set(re.findall(r"(?<![:\w]):([A-Za-z_]\w*)", code))


def pages(listing_ids: list[str]) -> dict[str, object]:
    """Every page people open: a path, or a function returning one per request."""
    rng = random.Random(3)
    metadata = yaml.safe_load(METADATA.read_text())
    found: dict[str, object] = {
        "home": "/",
        "listing page": lambda: listing_path(rng.choice(listing_ids)),
        "scores HTML, default facets": "/serumscope/scores",
        "scores JSON, default facets": "/serumscope/scores.json",
        "scores HTML, recommend under $30": (
            "/serumscope/scores?verdict=recommend&price_per_30ml__lt=30"
        ),
        "full-text search, scores HTML": "/serumscope/scores?_search=moringa+seed",
        "methodology": "/methodology",
        "compare page, three listings": lambda: (
            "/compare?" + urlencode([("id", i) for i in rng.sample(listing_ids, 3)])
        ),
        "devices page": "/devices",
    }
    for name, query in metadata["databases"]["serumscope"]["queries"].items():
        if name == "feed":
            found["feed.atom"] = "/serumscope/feed.atom"
        else:
            params = urlencode({n: PARAMETERS[n] for n in sorted(named_parameters(query["sql"]))})
            query_string = f"?{params}" if params else ""
            found[f"canned query {name}"] = f"/serumscope/{name}{query_string}"
            found[f"canned query {name} JSON"] = f"/serumscope/{name}.json{query_string}"
    for slug, dashboard in metadata["plugins"]["datasette-dashboards"].items():
        found[f"dashboard {slug}"] = f"/-/dashboards/{slug}"
        for chart, spec in dashboard["charts"].items():
            sql = urlencode({"sql": spec["query"], "_shape": "objects"})
            found[f"dashboard chart {chart}"] = f"/{spec['db']}.json?{sql}"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 120) -> None:
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


async def measure(base_url: str, path, requests: int, clients: int, budget: float) -> dict:
    """p99 of ``requests`` requests from ``clients`` concurrent clients (fewer after ``budget`` s)."""
    latencies: list[float] = []
    statuses: set[int] = set()
    remaining = requests
    deadline = time.monotonic() + budget

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            started = time.perf_counter()
            response = await http.get(path() if callable(path) else path)
            latencies.append(time.perf_counter() - started)
            statuses.add(response.status_code)

    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    latencies.sort()
    return {
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "count": len(latencies),
        "bad": sorted(s for s in statuses if s != 200),
    }


def server_cpu(pid: int) -> float | None:
    """CPU seconds the process has used in all its threads (Datasette's SQL threads live as long as
    the server), or None where /proc has no schedstat."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total = 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])  # nanoseconds on a CPU
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def measure_with_cpu(base_url: str, path, args, pid: int) -> dict:
    started = server_cpu(pid)
    run = asyncio.run(measure(base_url, path, args.requests, args.clients, args.budget))
    ended = server_cpu(pid)
    run["cpu"] = None if started is None or ended is None else (ended - started) / run["count"]
    return run


def bench_database(path: Path, base_url: str, args, pid: int) -> list[dict]:
    db = open_db(path)
    listing_ids = [row[0] for row in db.execute("select id from listings limit 5000").fetchall()]
    db.close()
    measured = []
    chosen = {
        name: page
        for name, page in pages(listing_ids).items()
        if not args.only or re.search(args.only, name)
    }
    for name, page in chosen.items():
        asyncio.run(measure(base_url, page, args.clients, args.clients, args.budget))  # warm up
        pairs = []
        for _ in range(args.rounds):
            page_run = measure_with_cpu(base_url, page, args, pid)
            base_run = measure_with_cpu(base_url, BASELINE, args, pid)
            pairs.append((page_run, base_run))
        ratios = [a["p99"] / b["p99"] for a, b in pairs]
        timed = [(a["cpu"], b["cpu"]) for a, b in pairs if a["cpu"] and b["cpu"]]
        row = {
            "page": name,
            "p99": statistics.median(a["p99"] for a, _ in pairs),
            "base": statistics.median(b["p99"] for _, b in pairs),
            "ratio": statistics.median(ratios),
            "low": min(ratios),
            "high": max(ratios),
            "count": min(a["count"] for a, _ in pairs),
            "bad": sorted({s for a, _ in pairs for s in a["bad"]}),
            "load": os.getloadavg()[0],  # a shared machine: other work widens the spread
            "cpu": statistics.median(a for a, _ in timed) * 1000 if timed else None,
            "cpu_ratio": statistics.median(a / b for a, b in timed) if timed else None,
        }
        print(_line(row), flush=True)
        measured.append(row)
    return measured


def _line(row: dict) -> str:
    flag = "" if row["ratio"] <= GOAL else f"  over {GOAL}x"
    bad = f"  HTTP {row['bad']}" if row["bad"] else ""
    cpu = (
        f" {row['cpu']:6.2f} {row['cpu_ratio']:5.2f}x"
        if row["cpu"] is not None
        else f" {'-':>6} {'-':>6}"
    )
    return (
        f"{row['page'][:52]:52} {row['p99']:9.1f} {row['base']:8.1f} {row['ratio']:7.2f}x"
        f" {row['low']:6.2f}-{row['high']:<6.2f}{cpu} {row['count']:5} {row['load']:5.1f}{flag}{bad}"
    )


def serve(db_path: Path, port: int, settings: list) -> subprocess.Popen:
    command = [sys.executable, "-c", "from serumscope.cli import cli; cli()"]
    return subprocess.Popen(
        [*command, "serve", "--db", str(db_path), "--port", str(port), "--no-refresh"]
        + ["--rate-limit", "0"]
        + [part for name, value in settings for part in ("--setting", name, value)],
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", default="10000,100000", help="comma-separated sizes")
    parser.add_argument("--requests", type=int, default=100, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="A B pairs per page (at least 3)")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--budget", type=float, default=60, help="seconds per measurement at most")
    parser.add_argument("--db-dir", type=Path, help="keep the databases here and reuse them")
    parser.add_argument("--only", help="measure only pages whose name matches this regex")
    parser.add_argument(
        "--setting",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="Datasette setting passed to serumscope serve (repeatable; default: shipped settings)",
    )
    args = parser.parse_args()
    print(
        f"goal: every page's p99 within {GOAL}x the plain table JSON's ({BASELINE}) at 100,000"
        f" listings, {args.clients} clients; {args.rounds} A B pairs of {args.requests} requests"
    )
    settings = " ".join(f"{n}={v}" for n, v in args.setting) or "shipped settings"
    print(f"settings: {settings}, --rate-limit 0")
    folder = tempfile.TemporaryDirectory()
    try:
        for count in (int(n) for n in args.listings.split(",")):
            db_path = (args.db_dir or Path(folder.name)) / f"site-{count}.db"
            if not db_path.exists():
                print(build_site_database(db_path, count), flush=True)
            port = free_port()
            server = serve(db_path, port, args.setting)
            try:
                wait_until_up(f"http://127.0.0.1:{port}", server)
                print(f"\n{count:,} listings")
                print(
                    f"{'page':52} {'p99 ms':>9} {'base ms':>8} {'ratio':>8} {'spread':13}"
                    f" {'cpu ms':>6} {'cpu x':>6} {'n':>5} {'load':>5}"
                )
                bench_database(db_path, f"http://127.0.0.1:{port}", args, server.pid)
            finally:
                server.terminate()
                server.wait(10)
    finally:
        folder.cleanup()


if __name__ == "__main__":
    main()
