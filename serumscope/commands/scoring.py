"""Commands: score (one listing JSON -> its evaluation) and evaluate (score the stored listings)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from serumscope.commands.options import db_option


def _rubric_option(function):
    return click.option(
        "--rubric",
        default="post",
        show_default=True,
        help="Rubric name: a file data/rubrics/NAME.toml (post, extended).",
    )(function)


@click.command()
@click.argument("listing_file", type=click.File("r", encoding="utf-8"), metavar="FILE|-")
@_rubric_option
@click.option("--compact", is_flag=True, help="Print the evaluation on one line.")
def score(listing_file, rubric: str, compact: bool) -> None:
    """Score one listing: read a listing as JSON (a file, or - for stdin), print its evaluation as JSON.

    The listing has the keys of docs/schema.md (only "title" is required); the evaluation has the
    score, verdict and, per criterion, the status, points, reason and the words that earned them.
    """
    from evaluator import evaluate, load_rubric

    text = listing_file.read()
    try:
        listing = json.loads(text)
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{listing_file.name}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(listing, dict):
        raise click.ClickException(
            f"{listing_file.name}: expected one listing as a JSON object, got {type(listing).__name__}"
        )
    # a row copied from the database keeps its JSON columns as text
    for column in ("image_alts", "tags", "categories", "provenance"):
        if isinstance(listing.get(column), str):
            with contextlib.suppress(json.JSONDecodeError):
                listing[column] = json.loads(listing[column])
    try:
        load_rubric(rubric)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    result = evaluate(listing, rubric)
    click.echo(json.dumps(result, ensure_ascii=False, indent=None if compact else 2))


@click.command()
@db_option("SQLite database written by `serumscope crawl`.")
@_rubric_option
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Re-score every listing, not only new or changed ones.",
)
def evaluate(db_path: Path, rubric: str, everything: bool) -> None:
    """Score the stored listings and save evaluations, ingredients and actives.

    By default only listings that are new, changed since their last evaluation, or scored with an
    older version of the rubric are scored. Listings that are not vitamin C serum candidates keep their
    facts but get the verdict "not-scored".
    """
    from serumscope.db import open_db
    from serumscope.evaluation_store import evaluate_db, ids_to_evaluate

    db = open_db(db_path)
    try:
        pending = len(ids_to_evaluate(db, rubric, everything))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    with click.progressbar(
        length=pending, label=f"Scoring with rubric {rubric}", file=sys.stderr
    ) as bar:
        summary = evaluate_db(db, rubric=rubric, everything=everything, progress=bar.update)
    verdicts = ", ".join(
        f"{count} {verdict}" for verdict, count in sorted(summary["verdicts"].items())
    )
    click.echo(
        f"Rubric {summary['rubric']} v{summary['rubric_version']}: scored {summary['evaluated']} of "
        f"{summary['listings']} listings ({summary['unchanged']} unchanged) in {summary['seconds']:.1f}s"
        + (f": {verdicts}" if verdicts else "")
    )


commands = [score, evaluate]
