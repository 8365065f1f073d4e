"""The ``serumscope`` command line: one click group, one module per area of work."""

import importlib

import click

from serumscope import __version__

COMMAND_MODULES = (
    "serumscope.commands.shops",
    "serumscope.commands.crawling",
    "serumscope.commands.distributed",
    "serumscope.commands.scoring",
    "serumscope.commands.publishing",
    "serumscope.commands.scheduling",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="serumscope")
def cli():
    """serumscope: judge vitamin C serums from their shop listings.

    Crawl shops (Shopify, WooCommerce, sitemap + schema.org), score every vitamin C serum against the
    seed post's criteria with the evidence for each point, and publish the scores with Datasette.
    """


for _module_name in COMMAND_MODULES:
    for _command in importlib.import_module(_module_name).commands:
        cli.add_command(_command)

if __name__ == "__main__":
    cli()
