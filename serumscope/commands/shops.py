"""Commands: shops (the local demo shops)."""

import time
from pathlib import Path

import click


@click.command()
@click.option(
    "--day",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Which day's content to serve (2 = prices changed, one product gone, one new).",
)
@click.option(
    "--write-sites",
    "sites_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a sites file (TOML) for the running shops here, for `serumscope crawl --sites`.",
)
def shops(day: int, sites_path: Path | None) -> None:
    """Run the three demo shops on 127.0.0.1 until Ctrl-C.

    A Shopify storefront (/products.json), a WooCommerce store (Store API) and a sitemap-driven
    retailer (robots.txt, sitemap index, schema.org product pages), each on a free port, serving
    the vitamin C (and other) products in data/demo_shops/. Prints each shop's URL and, with
    --write-sites, the sites file to crawl them with.
    """
    from serumscope.demo import DemoShops

    with DemoShops(day=day) as demo:
        for platform, url in demo.urls.items():
            click.echo(f"{platform:12} {url}")
        if sites_path:
            click.echo(f"sites file   {demo.write_sites(sites_path)}")
        click.echo(f"serving day {day}; press Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopping the demo shops")


commands = [shops]
