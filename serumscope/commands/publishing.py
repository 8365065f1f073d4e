"""Commands: serve (the Datasette site) and demo (demo shops → crawl → evaluate → site)."""

from __future__ import annotations

from pathlib import Path

import click

from serumscope.commands.options import db_option
from serumscope.paths import DATA_DIR

DEMO_DB = DATA_DIR / "demo.db"
PORT = click.IntRange(1, 65535)


def ensure_port_free(host: str, port: int) -> None:
    """Fail before any work when the site could not listen on ``host:port``."""
    import socket  # the standard library modules of one command are imported when it runs

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {host}:{port} ({error.strerror}); choose another --port"
            ) from None


def is_demo_database(db_path: Path) -> bool:
    """True when ``db_path`` holds only what an earlier demo crawled (shops on this machine)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
            base_urls = [row[0] for row in connection.execute("select base_url from shops")]
    except sqlite3.DatabaseError:
        return False
    return bool(base_urls) and all(
        (url or "").startswith(("http://127.0.0.1:", "http://localhost:")) for url in base_urls
    )


def prepare_for_serving(db_path: Path) -> None:
    """Bring views up to date and rebuild the search index: the one write, before the site starts."""
    from serumscope.store.database import open_db
    from serumscope.store.schema import refresh_site_tables

    db = open_db(db_path)
    refresh_site_tables(db)
    db.close()


def run_site(
    db_path: Path,
    host: str,
    port: int,
    settings: dict | None = None,
    *,
    allow_sql: bool = False,
    rate_limit: int | None = None,
) -> None:
    """Serve ``db_path`` with Datasette until interrupted."""
    import asyncio
    import gc

    import uvicorn

    from serumscope.site import make_datasette

    ds = make_datasette(db_path, settings, allow_sql=allow_sql, rate_limit=rate_limit)
    asyncio.run(ds.invoke_startup())
    # What start-up built (Datasette, its plugins, the metadata: nearly every object the process
    # keeps) is left out of garbage collection: a full collection then walks only what requests
    # made, instead of pausing every request in flight for ~30 ms (bench/serve.py, 100k listings).
    gc.collect()
    gc.freeze()
    click.echo(f"serumscope site: http://{host}:{port}/  (Ctrl-C to stop)", err=True)
    # No proxy headers: a client could name any address in X-Forwarded-For and so escape its rate
    # limit. Behind a proxy, the rate-limit plugin's `header` setting names the header it overwrites.
    uvicorn.run(
        ds.app(), host=host, port=port, log_level="warning", lifespan="on", proxy_headers=False
    )


@click.command()
@db_option("SQLite database to publish.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=PORT, help="Port to listen on.")
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="Rebuild the full-text search index before serving (the site itself never writes).",
)
@click.option(
    "-s",
    "--setting",
    "settings",
    multiple=True,
    type=(str, str),
    metavar="NAME VALUE",
    help="Override a Datasette setting, e.g. -s sql_time_limit_ms 5000 (repeatable).",
)
@click.option(
    "--allow-sql",
    is_flag=True,
    help="Let visitors run their own read-only SQL (?sql=, _where=). Off by default.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    metavar="N",
    help="Requests per minute per client address (default 300, from metadata.yml; 0 = no limit).",
)
def serve(
    db_path: Path,
    host: str,
    port: int,
    refresh: bool,
    settings: tuple[tuple[str, str], ...],
    allow_sql: bool,
    rate_limit: int | None,
) -> None:
    """Serve the scores as a Datasette site and JSON API.

    Browse the top picks, each listing's evidence, facets, charts and canned queries; every table
    and query page has a .json twin. The database is opened read-only, so crawls may run while it
    serves. Safe to publish as it is: no arbitrary SQL unless --allow-sql, at most 5 facets a
    page, answers capped at 10 MB, a request rate per client (docs/security.md).
    """
    import sqlite3

    if not db_path.exists():
        raise click.ClickException(
            f"no database at {db_path}: run `serumscope crawl` and `serumscope evaluate` first, "
            "or `serumscope demo`"
        )
    ensure_port_free(host, port)
    if refresh:
        try:
            prepare_for_serving(db_path)
        except sqlite3.OperationalError as error:  # a read-only copy is still worth serving
            click.echo(f"not refreshing the search index ({error}); serving as is", err=True)
        except sqlite3.DatabaseError as error:
            raise click.ClickException(
                f"{db_path} is not a serumscope database ({error})"
            ) from None
    run_site(
        db_path, host, port, parse_settings(settings), allow_sql=allow_sql, rate_limit=rate_limit
    )


def parse_settings(pairs: tuple[tuple[str, str], ...]) -> dict:
    """Datasette settings from NAME VALUE pairs, typed like the defaults they replace."""
    from datasette.app import DEFAULT_SETTINGS

    settings = {}
    for name, value in pairs:
        if name not in DEFAULT_SETTINGS:
            raise click.BadParameter(f"unknown Datasette setting {name!r}", param_hint="--setting")
        default = DEFAULT_SETTINGS[name]
        try:
            if isinstance(default, bool):
                settings[name] = value.lower() in ("1", "true", "on", "yes")
            elif isinstance(default, int):
                settings[name] = int(value)
            else:
                settings[name] = value
        except ValueError:
            raise click.BadParameter(f"{name} needs a number, not {value!r}") from None
    return settings


def build_demo_database(shops, db_path: Path, days: int = 2) -> dict:
    """Crawl the running demo shops into a fresh ``db_path`` as ``serumscope run`` would, once per
    demo day (day 1, then day 2 on the same ports: prices drop, a formula changes, a listing goes),
    evaluate and index it; return counts. The shops are left serving the day they started on."""
    import tempfile

    from evaluator.rubrics import scored_rubrics
    from serumscope.runs import run_once
    from serumscope.store.database import open_db
    from serumscope.store.schema import refresh_site_tables

    if db_path.exists() and not is_demo_database(db_path):
        raise click.ClickException(
            f"{db_path} exists and is not a demo database; the demo recreates its database, "
            "so give it a new path with --db"
        )
    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    first_day = shops.day
    runs = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            sites_file = Path(folder) / "sites.toml"
            shops.write_sites(sites_file)
            for day in range(1, days + 1):
                shops.set_day(day)
                # Its extended rubric's ingredient-order check feeds a canned query.
                result = run_once(
                    sites_file,
                    db_path,
                    Path(folder) / "logs",
                    rubrics=[*scored_rubrics().values(), "extended"],
                )
                if result.exit_code not in (0, 1):
                    raise click.ClickException(f"the demo's day {day} failed: {result.summary}")
                runs.append(result.summary)
    finally:
        shops.set_day(first_day)
    db = open_db(db_path)
    refresh_site_tables(db)
    counts = {
        "listings": db["listings"].count,
        "evaluated": db["evaluations"].count,
        "recommended": db.execute(
            "select count(*) from scores where verdict = 'recommend' and gone_since is null"
        ).fetchone()[0],
        "runs": runs,
    }
    db.close()
    return counts


@click.command()
@click.option("--port", default=8001, show_default=True, type=PORT, help="Port of the site.")
@db_option(
    "Database to (re)create for the demo (an existing file must be an earlier demo's).",
    default=DEMO_DB,
)
def demo(port: int, db_path: Path) -> None:
    """Try serumscope end to end on your machine, no internet needed.

    Starts three demo shops on 127.0.0.1 (Shopify, WooCommerce and a schema.org retailer), crawls
    them with the real spiders and scores every listing as `serumscope run` does, twice: day 1,
    then day 2 on the same ports (prices drop, a formula changes, a listing goes, one arrives), so
    the history, price charts and feed have something to show. Serves the site until Ctrl-C.
    """
    import time

    from serumscope.demo import DemoShops

    ensure_port_free("127.0.0.1", port)
    started = time.monotonic()
    with DemoShops() as shops:
        for platform, url in shops.urls.items():
            click.echo(f"demo shop ({platform}): {url}", err=True)
        counts = build_demo_database(shops, db_path)
        for day, summary in enumerate(counts["runs"], start=1):
            click.echo(f"day {day}: {summary}", err=True)
        click.echo(
            f"crawled and scored {counts['listings']} listings over {len(counts['runs'])} days "
            f"({counts['recommended']} recommended) in {time.monotonic() - started:.1f} s",
            err=True,
        )
        run_site(db_path, "127.0.0.1", port)


commands = [serve, demo]
