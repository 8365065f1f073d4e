"""Commands: crawl, detect, inspect."""

from __future__ import annotations

import json
import sys

import click

from serumscope.commands.options import FULL_OPTION, db_option, redis_option, sites_option


def _parse_settings(values: tuple[str, ...]) -> dict[str, object]:
    settings: dict[str, object] = {}
    for value in values:
        if "=" not in value:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--setting")
        key, raw = value.split("=", 1)
        try:
            settings[key.strip()] = json.loads(raw)
        except ValueError:
            settings[key.strip()] = raw
    return settings


# Pages deliberately not fetched (crawl_errors kinds in serumscope.store.tables.SOFT_ERROR_KINDS): no errors.
SKIPPED_WORDING = {
    "robots": "skipped by robots.txt",
    "junk-url": "skipped, not a URL of the shop",
    "offsite": "skipped, off-site link",
}


def _stats_table(summary: dict) -> str:
    header = (
        f"{'shop':<24} {'status':<8} {'pages':>6} {'listings':>8} {'candidates':>10} {'errors':>6}"
    )
    lines = [header, "-" * len(header)]
    for name, shop in summary["shops"].items():
        lines.append(
            f"{name:<24} {shop['status']:<8} {shop.get('pages', 0):>6} {shop['listings']:>8} "
            f"{shop['candidates']:>10} {shop['errors']:>6}"
        )
        if shop.get("unchanged") or shop.get("not_modified"):
            lines.append(
                f"    seen unchanged, not read again: {shop.get('unchanged', 0)} skipped "
                f"(the shop's change signals), {shop.get('not_modified', 0)} answered 304"
            )
        for label, counts in (
            ("decided by", "relevance"),
            ("kinds", "kinds"),
            ("sizes from", "size_from"),
        ):
            if shop.get(counts):
                parts = sorted(shop[counts].items(), key=lambda item: (-item[1], item[0]))
                lines.append(f"    {label}: " + ", ".join(f"{k} {n}" for k, n in parts))
        for field, count in sorted(shop.get("fields_missing", {}).items()):
            lines.append(f"    missing {field}: {count}")
        for field, count in sorted(shop.get("fields_invalid", {}).items()):
            lines.append(f"    invalid {field}: {count}")
        for kind, count in sorted(shop.get("errors_by_kind", {}).items()):
            lines.append(f"    errors ({kind}): {count}")
        for kind, count in sorted(shop.get("skipped_by_kind", {}).items()):
            lines.append(f"    {SKIPPED_WORDING.get(kind, f'skipped ({kind})')}: {count}")
        for reason in shop.get("limits", []):
            lines.append(f"    stopped: {reason}")
        if shop.get("startup_error"):
            lines.append(f"    could not start: {shop['startup_error']}")
    return "\n".join(lines)


@click.command()
@sites_option()
@db_option("SQLite database to store listings in.")
@click.option("--shop", "shop_names", multiple=True, help="Crawl only this shop (repeatable).")
@click.option(
    "--setting", "-s", "setting_values", multiple=True, metavar="NAME=VALUE",
    help="Override a Scrapy setting, e.g. -s DOWNLOAD_TIMEOUT=5 (values parsed as JSON when they can be).",
)  # fmt: skip
@FULL_OPTION
@click.option("--quiet", is_flag=True, help="No progress lines while crawling.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@redis_option()
@click.option(
    "--no-ingest", is_flag=True,
    help="With --redis: leave storing to a `serumscope ingest` process; wait for the run's end.",
)  # fmt: skip
def crawl(
    sites_path, db_path, shop_names, setting_values, full, quiet, as_json, redis_url, no_ingest
):
    """Crawl the shops in the sites file and store their listings.

    Every shop is crawled at once (politely: robots.txt, AutoThrottle, retries with backoff). Listings
    are upserted into the database, never deleted; failed URLs are recorded in crawl_errors. Prints a
    progress line per shop every few seconds and a table of per-shop figures at the end. Exits with
    status 1 when every shop failed.

    A re-crawl reads only the products the shop says changed since they were last read (sitemap
    lastmod, Shopify updated_at, the Store API's product data); the others count as seen. Every
    SERUMSCOPE_FULL_CRAWL_DAYS (default 7) a shop is read in full, or now with --full.

    With --redis, the shops are seeded into a Redis frontier that `serumscope worker` processes
    (on this or other machines) crawl; this process stores what they send, as `serumscope ingest`
    does, printing a line every 5 s (requests queued and in flight, live workers, listings stored
    and seen unchanged), and returns once the crawl is finished (docs/scaling.md).
    """
    from crawler.sites import SitesError, load_sites

    try:
        sites = load_sites(sites_path)
    except SitesError as error:
        raise click.ClickException(str(error)) from None
    if shop_names:
        unknown = sorted(set(shop_names) - {s["name"] for s in sites})
        if unknown:
            raise click.ClickException(f"{sites_path}: no enabled shop named {', '.join(unknown)}")
        sites = [s for s in sites if s["name"] in shop_names]
    if not sites:
        raise click.ClickException(f"{sites_path}: no shops to crawl (uncomment or add a [[shop]])")
    settings = {"LOG_LEVEL": "ERROR"}
    settings.update(_parse_settings(setting_values))
    if full:
        settings["SERUMSCOPE_FULL_CRAWL"] = True
    if redis_url:
        summary = _distributed_crawl(redis_url, sites, db_path, settings, no_ingest, quiet)
    else:
        from crawler.run import crawl as run_crawl

        summary = run_crawl(sites, db_path, progress=not quiet, settings=settings)
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        click.echo(_stats_table(summary))
        click.echo(f"crawl run {summary['run_id']}: {summary['status']} (database {db_path})")
    if summary["status"] == "failed":
        sys.exit(1)


def _distributed_crawl(redis_url, sites, db_path, settings, no_ingest, quiet) -> dict:
    import os
    import signal
    import time

    import redis

    from crawler.frontier import RunLost, check_run, connect
    from crawler.ingest import PROGRESS_SECONDS, fail_run, ingest_run, start_distributed
    from serumscope.reconcile import crawler_shop_summaries
    from serumscope.runs import RunInterrupted, signals_raise
    from serumscope.store.database import open_db

    try:
        client = connect(redis_url)
    except (redis.RedisError, ValueError) as error:
        raise click.ClickException(f"cannot reach Redis at {redis_url}: {error}") from None
    try:
        keys = start_distributed(client, str(db_path), sites, settings)
    except (redis.RedisError, ValueError) as error:  # recorded as the run's failure
        raise click.ClickException(f"could not start the run in Redis: {error}") from None
    try:
        with signals_raise():
            if not no_ingest:
                # -s SERUMSCOPE_PROGRESS_INTERVAL=N paces the lines as in a local crawl
                every = float(settings.get("SERUMSCOPE_PROGRESS_INTERVAL") or PROGRESS_SECONDS)
                progress = None if quiet else lambda line: click.echo(line, err=True)
                summary = ingest_run(client, str(db_path), keys, sites, progress, every)
            else:
                try:
                    while check_run(client, keys) == "crawling":
                        time.sleep(1.0)
                except (redis.RedisError, RunLost) as error:
                    fail_run(str(db_path), keys, sites, f"lost Redis: {error}", client)
                db = open_db(db_path)
                status = db.execute(
                    "SELECT status FROM crawl_runs WHERE id = ?", [keys.run_id]
                ).fetchone()
                summary = {
                    "run_id": keys.run_id,
                    "status": status[0] if status else "failed",
                    "shops": crawler_shop_summaries(db, keys.run_id),
                }
    except RunInterrupted as interrupt:
        # Record the run as interrupted and end it in Redis, so its workers stop and wait for the
        # next run; then die of the signal, as a local crawl does.
        fail_run(str(db_path), keys, sites, f"stopped by {interrupt}", client, "interrupted")
        signal.signal(interrupt.signum, signal.SIG_DFL)
        os.kill(os.getpid(), interrupt.signum)
        raise
    if summary.get("error"):
        click.echo(f"serumscope crawl: {summary['error']}", err=True)
    return {**summary, "db": str(db_path)}


@click.command()
@click.argument("url")
def detect(url):
    """Probe a shop and print the sites-file lines to crawl it.

    Runs the platform spiders on the shop in turn, each stopped once it reads a listing: Shopify
    (/products.json), the WooCommerce Store API (/wp-json/wc/store/v1/products), and robots.txt
    sitemaps leading to schema.org Product pages (suggesting product_url_patterns). Nothing is stored.
    Exits with status 1 when no known platform answers.
    """
    from crawler.probe import detect as probe
    from crawler.probe import shop_toml

    try:
        result = probe(url)
    except (OSError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    for note in result["notes"]:
        click.echo(f"# {note}")
    if result["shop"] is None:
        click.echo(f"# {url}: no known platform found (a custom spider may be needed)")
        sys.exit(1)
    click.echo(f"# platform: {result['platform']} — add to your sites file:")
    click.echo(shop_toml(result["shop"]))


@click.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
def inspect(url, as_json):
    """Fetch one product and print the listing fields serumscope would store, with their source.

    URL may be a Shopify product page (/products/<handle>, read from its .json), a WooCommerce Store
    API product (/wp-json/wc/store/v1/products/<id>) or any product page (schema.org JSON-LD,
    microdata, OpenGraph, then visible HTML). Each field shows where it came from: api, json-ld,
    microdata, opengraph or html. The platform's spider reads it and the crawl's pipelines tidy and
    judge it (candidate or not, and why); only the store is left out. Like a crawl it obeys
    robots.txt: a disallowed URL is not fetched and the command exits with status 1.
    """
    from crawler.probe import inspect as probe

    try:
        listing = probe(url)
    except (OSError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(listing, indent=2, ensure_ascii=False))
        return
    provenance = listing.get("provenance") or {}
    for key in ("id", "url", "title", "brand", "description", "ingredients_text", "details",
                "image_alts", "tags", "categories", "is_candidate", "relevance_reason"):  # fmt: skip
        value = listing.get(key)
        if key in ("description", "details") and value and len(value) > 300:
            value = value[:300] + "…"
        source = provenance.get(key, "")
        click.echo(f"{key:<18} [{source or '-':<9}] {value if value is not None else '(none)'}")
    click.echo(f"{'variants':<18} [{provenance.get('variants', '-'):<9}]")
    if provenance.get("size"):
        click.echo(f"{'sizes from':<18} [{provenance['size']}]")
    for variant in listing.get("variants") or []:
        click.echo(
            f"  - {variant.get('title') or '(untitled)'}: {variant.get('price')} "
            f"{variant.get('currency') or ''} size={variant.get('size_text')} "
            f"regular={variant.get('regular_price')} available={variant.get('available')} "
            f"sku={variant.get('sku')}"
        )
    for problem in listing.get("page_errors") or []:
        click.echo(f"page problem: {problem}")


commands = [crawl, detect, inspect]
