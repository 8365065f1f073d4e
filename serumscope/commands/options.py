"""Options several commands share, declared once so their names, types and defaults agree."""

from pathlib import Path

import click

from serumscope.paths import DEFAULT_DB, DEFAULT_SITES


def db_option(help: str, default: Path = DEFAULT_DB):
    """`--db FILE`, passed to the command as `db_path` (a Path)."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default,
        show_default=True,
        help=help,
    )


def sites_option(must_exist: bool = False):
    """`--sites FILE`, passed to the command as `sites_path` (a Path)."""
    return click.option(
        "--sites",
        "sites_path",
        type=click.Path(exists=must_exist, dir_okay=False, path_type=Path),
        default=DEFAULT_SITES,
        show_default=True,
        help="Sites file (TOML) listing the shops to crawl.",
    )


FULL_OPTION = click.option(
    "--full",
    is_flag=True,
    help="Read every product again, even those the shop says did not change (as the periodic full "
    "crawl does, every SERUMSCOPE_FULL_CRAWL_DAYS).",
)


def redis_option(required: bool = False, help: str | None = None):
    """`--redis redis://HOST:PORT/DB`, passed to the command as `redis_url` (docs/scaling.md)."""
    return click.option(
        "--redis",
        "redis_url",
        metavar="redis://HOST:PORT/DB",
        required=required,
        default=None,
        help=help
        or "Crawl distributed: seed the shops into this Redis frontier for `serumscope worker`"
        " processes and store what they send (docs/scaling.md).",
    )
