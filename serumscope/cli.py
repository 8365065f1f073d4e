"""The ``serumscope`` command line: one click group, one module per area of work."""

import importlib

import click

from serumscope import __version__

# Each command's module, imported when the command runs (click's "lazily loading subcommands"):
# `serumscope score -` loads the scoring commands alone, `serumscope --help` every module.
COMMAND_MODULES = {
    "shops": "serumscope.commands.shops",
    "crawl": "serumscope.commands.crawling",
    "detect": "serumscope.commands.crawling",
    "inspect": "serumscope.commands.crawling",
    "worker": "serumscope.commands.distributed",
    "ingest": "serumscope.commands.distributed",
    "score": "serumscope.commands.scoring",
    "evaluate": "serumscope.commands.scoring",
    "serve": "serumscope.commands.publishing",
    "demo": "serumscope.commands.publishing",
    "run": "serumscope.commands.scheduling",
    "schedule": "serumscope.commands.scheduling",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        return {c.name: c for c in importlib.import_module(module).commands}[cmd_name]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="serumscope")
def cli():
    """serumscope: judge vitamin C serums from their shop listings.

    Crawl shops (Shopify, WooCommerce, sitemap + schema.org), score every vitamin C serum against the
    seed post's criteria with the evidence for each point, and publish the scores with Datasette.
    """


if __name__ == "__main__":
    cli()
