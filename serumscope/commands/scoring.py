"""Commands: score (one listing JSON -> its evaluation) and evaluate (score the stored listings)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from serumscope.commands.options import db_option

LIST_KEYS = {"variants", "image_alts", "tags", "categories"}


def listing_warnings(listing: dict) -> list[str]:
    """What in a hand-written listing will be ignored: unknown keys, values of the wrong type."""
    from serumscope.store.tables import TABLES  # imported on use: sqlite-utils costs start-up time

    LISTING_KEYS = set(TABLES["listings"].columns) | {"variants"}  # noqa: N806
    warnings = [f"unknown key {key!r} ignored" for key in sorted(set(listing) - LISTING_KEYS)]
    for key in sorted(LISTING_KEYS & set(listing)):
        value, wanted = listing[key], list if key in LIST_KEYS else (str, int, float, dict)
        if value is not None and not isinstance(value, wanted):
            warnings.append(f"{key!r} should be a {'list' if key in LIST_KEYS else 'string'}")
    return warnings


def _rubric_option(function):
    return click.option(
        "--rubric",
        default=None,
        help="Rubric name: a file data/rubrics/NAME.toml (post, extended, devices); default: the "
        "rubric that says scored = true for the listing's category (post for serums, devices for "
        "micro-needling devices); `evaluate` runs each category's.",
    )(function)


@click.command()
@click.argument("listing_file", type=click.File("r", encoding="utf-8"), metavar="FILE|-")
@_rubric_option
@click.option("--compact", is_flag=True, help="Print the evaluation on one line.")
def score(listing_file, rubric: str, compact: bool) -> None:
    """Score one listing: read a listing as JSON (a file, or - for stdin), print its evaluation as JSON.

    The listing has the keys of docs/schema.md (only "title" is required); the evaluation has the
    score, verdict and, per criterion, the status, points, reason and the words that earned them.
    Without "category" (or "is_candidate"), the crawler's relevance rule decides its category
    (vitamin C serum, micro-needling device, other); without --rubric, the scored rubric of that
    category applies. A listing of another category than the rubric's gets the verdict "not-scored",
    as `serumscope evaluate` gives it.
    """
    from evaluator import evaluate, listing_category, load_rubric, unless_not_a_candidate
    from evaluator.categories import DEFAULT_CATEGORY, OTHER
    from evaluator.rubrics import scored_rubric
    from serumscope.store.tables import LISTING_JSON_COLUMNS

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
    for column in LISTING_JSON_COLUMNS:
        if isinstance(listing.get(column), str):
            with contextlib.suppress(json.JSONDecodeError):
                listing[column] = json.loads(listing[column])
    if not isinstance(listing.get("title"), str) or not listing["title"].strip():
        raise click.ClickException(
            f'{listing_file.name}: a listing needs a "title" (docs/schema.md)'
        )
    for warning in listing_warnings(listing):
        click.echo(f"warning: {warning}", err=True)
    if "is_candidate" not in listing and "category" not in listing:
        from evaluator.categories import relevance_columns  # the crawler's judgement

        listing.update(relevance_columns(listing))
    if rubric is None:  # the scored rubric of the listing's category
        found = listing_category(listing)
        rubric = scored_rubric(found if found != OTHER else DEFAULT_CATEGORY)
    try:
        load_rubric(rubric)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    result = unless_not_a_candidate(listing, evaluate(listing, rubric))
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
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes that score (default: one per CPU); this process alone writes.",
)
def evaluate(db_path: Path, rubric: str, everything: bool, jobs: int | None) -> None:
    """Score the stored listings and save evaluations, ingredients and actives.

    By default only listings that are new, changed since their last evaluation, or scored with an
    older version of the rubric or other vocabularies are scored; listings judged with older
    relevance rules (data/vocab/relevance.toml) are judged again first. Without --rubric, each
    category's scored rubric runs (post for vitamin C serums, devices for micro-needling devices).
    Listings of another category keep their facts but get the verdict "not-scored".

    From 2,000 listings on, results are written 4,000 listings at a time, each in one transaction
    that computes the site's tables once at its end: stopped meanwhile, the database keeps what was
    written before (the next run scores the rest), and the site shows the old results of a group
    until the whole group is written.
    """
    from evaluator.rubrics import scored_rubrics
    from serumscope.evaluation_store import evaluate_db, ids_to_evaluate, rejudge_stale
    from serumscope.store.database import open_db

    if not db_path.exists():
        raise click.ClickException(
            f"no database at {db_path}: crawl first (`serumscope crawl --db {db_path}`)"
        )
    db = open_db(db_path)
    rejudged = rejudge_stale(db)
    if rejudged:
        click.echo(f"Judged {rejudged} listings again with the current relevance rules", err=True)
    for name in [rubric] if rubric else list(scored_rubrics().values()):
        try:
            pending = len(ids_to_evaluate(db, name, everything))
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        with click.progressbar(
            length=pending, label=f"Scoring with rubric {name}", file=sys.stderr
        ) as bar:
            summary = evaluate_db(
                db, rubric=name, everything=everything, progress=bar.update, jobs=jobs
            )
        verdicts = ", ".join(
            f"{count} {verdict}" for verdict, count in sorted(summary["verdicts"].items())
        )
        click.echo(
            f"Rubric {summary['rubric']} v{summary['rubric_version']}: scored {summary['evaluated']} of "
            f"{summary['listings']} listings ({summary['unchanged']} unchanged) in {summary['seconds']:.1f}s"
            + (f": {verdicts}" if verdicts else "")
        )


commands = [score, evaluate]
