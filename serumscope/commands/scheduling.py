"""Commands: run (one unattended crawl + evaluate cycle) and schedule (repeat it)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from serumscope.commands.options import FULL_OPTION, db_option, redis_option, sites_option

SITES_OPTION = sites_option(must_exist=True)
DB_OPTION = db_option("SQLite database to update.")
LOG_DIR_OPTION = click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the per-run log files [default: logs/ beside the database].",
)
RUBRIC_OPTION = click.option(
    "--rubric",
    "rubrics",
    multiple=True,
    help="Rubric to evaluate with (repeatable) [default: post and every rubric already scored].",
)
SETTING_OPTION = click.option(
    "--setting",
    "-s",
    "crawl_settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Scrapy setting for the crawl, passed to `serumscope crawl` (repeatable).",
)


def check_rubrics(names: tuple[str, ...]) -> None:
    """Unknown rubric names fail at once, not after a whole crawl."""
    from evaluator import load_rubric

    for name in names:
        try:
            load_rubric(name)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--rubric") from None


def check_redis(redis_url: str) -> None:
    """Fail at once, saying why, when the Redis of a distributed crawl does not answer."""
    import redis

    from crawler.frontier import connect
    from serumscope.store.status import EXIT_FAILED

    try:
        connect(redis_url).close()
    except (redis.RedisError, ValueError) as error:
        click.echo(f"serumscope run: cannot reach Redis at {redis_url}: {error}", err=True)
        sys.exit(EXIT_FAILED)


@click.command("run")
@SITES_OPTION
@DB_OPTION
@LOG_DIR_OPTION
@RUBRIC_OPTION
@SETTING_OPTION
@FULL_OPTION
@redis_option()
@click.option("--quiet", "-q", is_flag=True, help="Print only the one-line summary (for cron).")
def run_command(
    sites_path: Path,
    db_path: Path,
    log_dir: Path | None,
    rubrics: tuple[str, ...],
    crawl_settings: tuple[str, ...],
    full: bool,
    redis_url: str | None,
    quiet: bool,
):
    """Crawl every shop, evaluate what changed and record the run, unattended (cron, systemd).

    One cycle: take a lock beside the database, crawl all shops in a child process, mark listings a
    shop no longer lists as gone (unless the shop's answer looks broken: then the run is `suspect`
    and nothing is marked), clear `gone_since` of listings that came back, evaluate new and changed
    listings, and record the run in the `runs` table. History (prices, ingredient lists, scores,
    appearances) is kept by the database itself. Ends with a one-line summary; the full log is
    written to logs/run-<id>-<time>.log.

    Exit status: 0 ok; 1 partial (some shops failed, look suspect or were read only in part, or
    evaluation failed); 2 failed (no shop answered normally, the sites file is unusable, or an
    unexpected error); 75 another run holds the lock (nothing done); 130/143 interrupted by
    SIGINT/SIGTERM.
    """
    from crawler.sites import SitesError
    from serumscope.runlock import RunLocked
    from serumscope.runs import RunInterrupted, run_once
    from serumscope.store.status import EXIT_FAILED, EXIT_LOCKED

    def echo(message: str, err: bool = False) -> None:
        if not quiet:
            click.echo(message, err=err)

    check_rubrics(rubrics)
    if full:
        crawl_settings = (*crawl_settings, "SERUMSCOPE_FULL_CRAWL=true")
    if redis_url:
        check_redis(redis_url)

    try:
        result = run_once(
            sites_path,
            db_path,
            log_dir,
            rubrics=rubrics,
            crawl_settings=crawl_settings,
            echo=echo,
            redis_url=redis_url,
        )
    except RunLocked as locked:
        click.echo(f"serumscope run: {locked}", err=True)
        sys.exit(EXIT_LOCKED)
    except SitesError as error:
        click.echo(f"serumscope run: {error}", err=True)
        sys.exit(EXIT_FAILED)
    except RunInterrupted as interrupt:
        click.echo(f"serumscope run: interrupted by {interrupt}", err=True)
        sys.exit(128 + interrupt.signum)
    click.echo(result.summary)
    sys.exit(result.exit_code)


@click.command("schedule")
@click.option(
    "--every",
    required=True,
    help="Interval between run starts: 30s, 15m, 6h, 1d or combinations like 1h30m.",
)
@SITES_OPTION
@DB_OPTION
@LOG_DIR_OPTION
@RUBRIC_OPTION
@SETTING_OPTION
@redis_option()
@click.option(
    "--max-runs", type=click.IntRange(min=1), default=None, help="Stop after this many runs."
)
def schedule_command(
    every: str,
    sites_path: Path,
    db_path: Path,
    log_dir: Path | None,
    rubrics: tuple[str, ...],
    crawl_settings: tuple[str, ...],
    redis_url: str | None,
    max_runs: int | None,
):
    """Repeat `serumscope run` every interval, for containers and laptops without cron.

    The first run starts at once. Each run is its own process, so a failed or crashed run is logged
    and the loop goes on; runs never overlap (a run started by cron meanwhile makes this one skip
    with status 75). Prints each run's exit status and the next run time. SIGTERM or SIGINT stops
    the loop cleanly: a run in progress is asked to stop and records itself as interrupted.
    """
    from serumscope.schedule import parse_duration, schedule_loop

    check_rubrics(rubrics)

    try:
        interval = parse_duration(every)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--every") from None
    arguments = ["--sites", str(sites_path), "--db", str(db_path)]
    for rubric in rubrics:
        arguments += ["--rubric", rubric]
    if log_dir is not None:
        arguments += ["--log-dir", str(log_dir)]
    for setting in crawl_settings:
        arguments += ["--setting", setting]
    if redis_url:
        arguments += ["--redis", redis_url]
    sys.exit(
        schedule_loop(
            arguments, interval, max_runs=max_runs, echo=lambda m: click.echo(m, err=False)
        )
    )


commands = [run_command, schedule_command]
