"""Commands of a distributed crawl: worker, ingest (docs/scaling.md)."""

from __future__ import annotations

import sys

import click

from serumscope.commands.options import db_option, redis_option


def _connect(redis_url: str):
    import redis

    from crawler.frontier import connect

    try:
        return connect(redis_url)
    except (redis.RedisError, ValueError) as error:
        raise click.ClickException(f"cannot reach Redis at {redis_url}: {error}") from None


@click.command()
@redis_option(required=True, help="The Redis of the crawl (redis://HOST:PORT/DB).")
@click.option(
    "--setting", "-s", "setting_values", multiple=True, metavar="NAME=VALUE",
    help="Override a Scrapy setting for this worker, e.g. -s CONCURRENT_REQUESTS=8.",
)  # fmt: skip
@click.option(
    "--wait", "wait_seconds", type=float, default=3600.0, show_default=True,
    help="Seconds to wait for a crawl run to join before giving up.",
)  # fmt: skip
def worker(redis_url, setting_values, wait_seconds):
    """Crawl requests of the current distributed run until it is finished.

    Joins the run `serumscope crawl --redis` started, takes requests from the shared frontier
    (scrapy-redis's scheduler and duplicate filter: each URL is fetched once across all workers) and
    sends listings and crawl errors back through Redis to the ingest. Needs no database and no sites
    file. Run any number, on any machine that reaches Redis and the shops. Exits 0 when the run is
    finished, 1 when Redis was lost or the run failed, 2 when no run came within --wait.
    """
    from crawler.worker import work
    from serumscope.commands.crawling import _parse_settings

    _connect(redis_url)
    settings = {"LOG_LEVEL": "ERROR", **_parse_settings(setting_values)}
    result = work(redis_url, settings, wait_seconds)
    if result["run_id"] is None:
        click.echo(f"serumscope worker: {result['error']}", err=True)
        sys.exit(2)
    pages = sum(s.get("response_received_count", 0) for s in result["shops"].values())
    click.echo(f"worker: run {result['run_id']}: {pages} pages")
    if result["error"]:
        click.echo(f"serumscope worker: {result['error']}", err=True)
        sys.exit(1)


@click.command()
@redis_option(required=True, help="The Redis of the crawl (redis://HOST:PORT/DB).")
@db_option("SQLite database to store the crawl into.")
@click.option(
    "--wait", "wait_seconds", type=float, default=3600.0, show_default=True,
    help="Seconds to wait for a crawl run before giving up.",
)  # fmt: skip
def ingest(redis_url, db_path, wait_seconds):
    """Store the listings and errors of the current distributed run into the database.

    The one writer of a distributed crawl (`serumscope crawl --redis` runs it itself unless given
    --no-ingest). Writes in batches whose transaction also records how far it got, so a killed
    ingest, restarted, stores nothing twice and loses nothing. Prints a progress line every 5 s.
    Returns when the crawl is finished (frontier empty, every worker idle), after recording the
    run's summary. Exits 1 when the run failed (Redis lost).
    """
    import time

    from crawler.frontier import current_run
    from crawler.ingest import ingest_run

    client = _connect(redis_url)
    deadline = time.monotonic() + wait_seconds
    while (run := current_run(client)) is None:
        if time.monotonic() >= deadline:
            raise click.ClickException("no crawl run to ingest")
        time.sleep(0.5)
    keys, shops, _settings = run
    result = ingest_run(client, str(db_path), keys, shops, lambda line: click.echo(line, err=True))
    click.echo(f"ingest: run {result['run_id']}: {result['status']}")
    if result["error"]:
        click.echo(f"serumscope ingest: {result['error']}", err=True)
    if result["status"] == "failed":
        sys.exit(1)


commands = [worker, ingest]
