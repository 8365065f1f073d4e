"""Score stored listings and save the results: ``evaluations``, ``ingredients`` and ``actives``.

Reading (listings + variants -> listing dicts), scoring (``evaluator.evaluate``, pure) and writing are
separate steps; writes happen in one transaction per batch so an interrupted run never leaves a listing
half-written. Only listings whose ``input_hash``, the rubric's version or the vocabularies changed, or whose candidacy
(``is_candidate``, set by the relevance step and not part of the input hash) no longer matches the
stored scored / not-scored state, are re-scored unless ``everything`` is asked for.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import sqlite_utils

from evaluator import evaluate_many, load_rubric, unless_not_a_candidate
from evaluator.categories import DEFAULT_CATEGORY, relevance_columns, relevance_version
from evaluator.headline import HEADLINE_FACTS, headline_values
from evaluator.vocab import vocabulary_version
from serumscope.store.bulk import site_tables_rebuilt_after
from serumscope.store.clock import utc_now
from serumscope.store.database import transaction
from serumscope.store.products import update_products
from serumscope.store.rows import storable_json
from serumscope.store.schema import ensure_schema
from serumscope.store.site import SCORED_RUBRIC
from serumscope.store.tables import LISTING_JSON_COLUMNS
from serumscope.store.writers import (
    INGREDIENT_COLUMNS,
    BoundRows,
    PreparedEvaluations,
    bound_values,
    prepare_evaluations,
    write_evaluations,
)

BATCH_SIZE = 500
# From this many listings on, the writes go in transactions of BULK_TRANSACTION_LISTINGS listings
# without the site's per-row triggers (store/bulk.py): counting the site's tables again whole then
# costs less than the triggers did. Groups, not one transaction for the whole run, so that another
# writer waits about a second at most, the WAL file stays bounded and a stopped run keeps what it
# wrote; a group's prepared rows (~14 kB a listing) wait in memory for its transaction.
BULK_MIN_LISTINGS = 2_000
BULK_TRANSACTION_LISTINGS = 4_000


def _decode(value: str | None) -> object:
    if value is None:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def listing_dicts(db: sqlite_utils.Database, ids: list[str]) -> list[dict]:
    """The listing dicts (docs/schema.md) for ``ids``, with their variants in page order."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    cursor = db.execute(f"select * from listings where id in ({marks})", ids)
    names = [d[0] for d in cursor.description]
    listings = {}
    for row in cursor.fetchall():
        listing = dict(zip(names, row, strict=True))
        for column in LISTING_JSON_COLUMNS:
            if column in listing:
                listing[column] = _decode(listing[column])
        listing["variants"] = []
        listings[listing["id"]] = listing
    cursor = db.execute(
        f"select * from variants where listing_id in ({marks}) and gone_since is null"
        " order by listing_id, position",
        ids,
    )
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        variant = dict(zip(names, row, strict=True))
        listings[variant["listing_id"]]["variants"].append(variant)
    return [listings[i] for i in ids if i in listings]


def _ids_to_score(db: sqlite_utils.Database, rubric: dict, everything: bool) -> list[str]:
    """Listings to score with ``rubric``: new, changed or stale ones. A rubric of the first category
    (vitamin C serums) keeps a row for every listing (the others "not-scored"); a rubric of another
    category covers its category's listings and those it scored before (their category may have
    changed)."""
    sql = """
        select l.id from listings l
        left join evaluations e on e.listing_id = l.id and e.rubric = :rubric
        where (:every_listing or l.category is :category or e.listing_id is not null)
          and (:everything or e.listing_id is null
           or e.input_hash is not l.input_hash or e.rubric_version is not :version
           or e.vocabulary_version is not :vocabulary
           or (e.verdict = 'not-scored') is not (l.category is not :category))
        order by l.id
    """
    params = {
        "rubric": rubric["id"],
        "category": rubric["category"],
        "every_listing": int(rubric["category"] == DEFAULT_CATEGORY),
        "everything": int(everything),
        "version": str(rubric["version"]),
        "vocabulary": vocabulary_version(),
    }
    return [row[0] for row in db.execute(sql, params).fetchall()]


def shortfalls(breakdown: list[dict]) -> str | None:
    """The criteria failed or left unknown, "title: reason" each, for the avoid list."""
    parts = [
        f"{c['title']}: {c['reason']}"
        for c in breakdown
        if c.get("status") in ("fail", "unknown") and c.get("title") and c.get("reason") is not None
    ]
    return " ".join(parts) or None


def evaluation_row(listing: dict, result: dict, evaluated_at: str) -> dict:
    """The ``evaluations`` row for one result; non-candidates keep their facts but get no score."""
    result = unless_not_a_candidate(listing, result)
    facts = result["facts"]
    headline = {
        fact.column: storable_json(value) if fact.json and value is not None else value
        for fact, value in zip(HEADLINE_FACTS, headline_values(facts).values(), strict=True)
    }
    return {
        "listing_id": listing["id"],
        "rubric": result["rubric"],
        "rubric_version": result["rubric_version"],
        "score": result["score"],
        "verdict": result["verdict"],
        "verdict_reason": result["verdict_reason"],
        "red_flags": storable_json(result.get("red_flags", [])),
        **headline,
        "shortfalls": shortfalls(result["breakdown"]),
        "breakdown": storable_json(result["breakdown"]),
        "facts": storable_json(facts),
        "input_hash": listing.get("input_hash"),
        "evaluated_at": evaluated_at,
        "vocabulary_version": vocabulary_version(),
    }


def ingredient_values(listing_id: str, facts: dict) -> list[tuple]:
    """The ``ingredients`` rows of one listing's facts, as values in INGREDIENT_COLUMNS order."""
    return [
        (listing_id, item["position"], item["raw"], item["canonical"], int(item["known"]))
        for item in (facts.get("ingredients") or {}).get("items", [])
    ]


def ingredient_rows(listing_id: str, facts: dict) -> Iterator[dict]:
    for values in ingredient_values(listing_id, facts):
        yield dict(zip(INGREDIENT_COLUMNS, values, strict=True))


def _active_row(listing_id: str, active: dict, form: str, evidence: list[dict]) -> dict:
    first = evidence[0] if evidence else {}
    return {
        "listing_id": listing_id,
        "active": active.get("active", "vitamin_c"),
        "form": form,
        "percent": active.get("percent"),
        "percent_min": active.get("percent_min"),
        "percent_max": active.get("percent_max"),
        "evidence_field": first.get("field"),
        "evidence_text": first.get("text"),
    }


def active_rows(listing_id: str, facts: dict) -> Iterator[dict]:
    """The stated actives, then the vitamin C forms of the ingredient list no statement names."""
    for active in facts.get("actives", []):
        yield _active_row(listing_id, active, active["form"], active["evidence"])
    stated_forms = {a["form"] for a in facts.get("actives", []) if a["active"] == "vitamin_c"}
    for form in (facts.get("vitamin_c") or {}).get("forms", []):
        if form["form"] not in stated_forms:
            yield _active_row(listing_id, {}, form["form"], form["evidence"])


def _scored_batch(listings: list[dict], rubrics: dict[str, list[str]]) -> PreparedEvaluations:
    """Score ``listings`` and build their rows (in a worker process when there are several jobs):
    each listing's facts are read once (per category) and every rubric it is due for (``rubrics``:
    listing id -> rubric names) applied to them; its ingredients and actives come from the last of
    them, as when the rubrics are run one after the other. The rows come back checked and bound, so
    the one writer has only the statements left to run."""
    now = utc_now()
    scored = [
        (
            listing,
            [
                unless_not_a_candidate(listing, result)
                for result in evaluate_many(listing, rubrics[listing["id"]])
            ],
        )
        for listing in listings
    ]
    return prepare_evaluations(
        [listing["id"] for listing, _ in scored],
        [evaluation_row(listing, result, now) for listing, results in scored for result in results],
        bound_values(
            INGREDIENT_COLUMNS,
            [
                values
                for listing, results in scored
                for values in ingredient_values(listing["id"], results[-1]["facts"])
            ],
        ),
        [
            row
            for listing, results in scored
            for row in active_rows(listing["id"], results[-1]["facts"])
        ],
    )


def _rubric_verdicts(rows: BoundRows) -> Iterator[tuple[str, str]]:
    """The rubric and verdict of each evaluation row of a batch."""
    if rows.dicts is not None:
        return ((row["rubric"], row["verdict"]) for row in rows.dicts)
    rubric, verdict = rows.columns.index("rubric"), rows.columns.index("verdict")
    return ((values[rubric], values[verdict]) for values in rows.values)


_reader: sqlite_utils.Database | None = None  # a worker process's own read-only connection


def _open_reader(db_file: str) -> None:
    global _reader
    _reader = sqlite_utils.Database(
        sqlite3.connect(f"{Path(db_file).as_uri()}?mode=ro", uri=True, timeout=10)
    )


def _worker_batch(chunk: dict[str, list[str]]) -> PreparedEvaluations:
    return _scored_batch(listing_dicts(_reader, list(chunk)), chunk)


def _database_file(db: sqlite_utils.Database) -> str | None:
    """The file of the main database, or None for an in-memory one (workers cannot open it)."""
    for _, name, file in db.execute("pragma database_list").fetchall():
        if name == "main":
            return file or None
    return None


def default_jobs() -> int:
    """Every CPU this process may run on."""
    return len(os.sched_getaffinity(0))


def _batches(
    db: sqlite_utils.Database, due: dict[str, list[str]], jobs: int
) -> Iterator[PreparedEvaluations]:
    """The scored batches in order of ``due`` (listing id -> rubric names): in this process, or in
    ``jobs`` worker processes that read their listings themselves (this process only writes)."""
    ids = list(due)
    chunks = [
        {i: due[i] for i in ids[offset : offset + BATCH_SIZE]}
        for offset in range(0, len(ids), BATCH_SIZE)
    ]
    db_file = _database_file(db)
    if jobs <= 1 or len(chunks) < 2 or db_file is None:
        for chunk in chunks:
            yield _scored_batch(listing_dicts(db, list(chunk)), chunk)
        return
    # spawn, not fork: the caller may hold threads (a crawl's reactor) whose locks a fork would copy
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(jobs, len(chunks)), _open_reader, (db_file,)) as pool:
        yield from pool.imap(_worker_batch, chunks)


def rejudge_stale(db: sqlite_utils.Database) -> int:
    """Judge again the listings whose relevance was judged with other rules or vocabulary (or never),
    so a change to data/vocab/relevance.toml takes effect without a re-crawl. Returns how many."""
    ids = [
        row[0]
        for row in db.execute(
            "select id from listings where relevance_version is not ? order by id",
            [relevance_version()],
        ).fetchall()
    ]
    for offset in range(0, len(ids), BATCH_SIZE):
        listings = listing_dicts(db, ids[offset : offset + BATCH_SIZE])
        rows = [{"id": listing["id"], **relevance_columns(listing)} for listing in listings]
        with transaction(db):
            db["listings"].upsert_all(rows, pk="id")
    return len(ids)


def _listings_in(batches: list[PreparedEvaluations]) -> int:
    return sum(len(batch.listing_ids) for batch in batches)


def _transactions(
    batches: Iterator[PreparedEvaluations], listings: int
) -> Iterator[list[PreparedEvaluations]]:
    """The batches in lists of at least ``listings`` listings (the last one may hold fewer), each
    list written in one transaction."""
    together: list[PreparedEvaluations] = []
    for batch in batches:
        together.append(batch)
        if _listings_in(together) >= listings:
            yield together
            together = []
    if together:
        yield together


def evaluate_db(
    db: sqlite_utils.Database,
    rubric: str | Sequence[str] = SCORED_RUBRIC,
    everything: bool = False,
    progress: Callable[[int], None] | None = None,
    jobs: int | None = None,
    bulk: bool | None = None,
) -> dict:
    """Score new or changed listings (all with ``everything``) with ``rubric`` and store the results.

    ``rubric`` may name several rubrics: each listing's facts are then read once and every rubric
    it is due for applied to them.

    ``jobs`` worker processes score (default: one per CPU; 1 scores in this process); this process
    alone writes, in the order of the listing ids: one transaction per batch, or with ``bulk``
    (default: from BULK_MIN_LISTINGS listings on) one per BULK_TRANSACTION_LISTINGS listings,
    without the per-row triggers of the site's tables, whose rows are computed again at the end of
    each (store/bulk.py).

    ``progress`` is called with the number of listings done after each batch (click.progressbar's
    ``update`` fits). Returns a summary: counts of listings to score, scored, not-scored (not
    candidates), unchanged, and verdicts. Listings judged with older relevance rules are judged again
    first (``rejudged``). With several rubrics, ``evaluated`` and ``unchanged`` count listings, and
    ``rubrics`` holds the summary of each rubric.
    """
    names = [rubric] if isinstance(rubric, str) else list(rubric)
    rules = [load_rubric(name) for name in names]
    ensure_schema(db)
    started = time.perf_counter()
    rejudged = rejudge_stale(db)
    due: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for name, rules_of in zip(names, rules, strict=True):
        ids = _ids_to_score(db, rules_of, everything)
        counts[rules_of["id"]] = len(ids)
        for listing_id in ids:
            due.setdefault(listing_id, []).append(name)
    due = dict(sorted(due.items()))
    total = db.execute("select count(*) from listings").fetchone()[0]
    verdicts: dict[str, dict[str, int]] = {r["id"]: {} for r in rules}
    if bulk is None:
        bulk = len(due) >= BULK_MIN_LISTINGS
    batches = _batches(db, due, default_jobs() if jobs is None else jobs)
    for written_together in _transactions(batches, BULK_TRANSACTION_LISTINGS if bulk else 1):
        with (
            site_tables_rebuilt_after(db, whole=2 * _listings_in(written_together) >= total)
            if bulk
            else contextlib.nullcontext(lambda _: None)
        ) as written:
            for batch in written_together:
                write_evaluations(db, batch)
                written(batch.listing_ids)
        for batch in written_together:
            for rubric_id, verdict in _rubric_verdicts(batch.evaluations):
                of_rubric = verdicts[rubric_id]
                of_rubric[verdict] = of_rubric.get(verdict, 0) + 1
            if progress is not None:
                progress(len(batch.listing_ids))
    summaries = {
        r["id"]: {
            "rubric": r["id"],
            "rubric_version": str(r["version"]),
            "listings": total,
            "evaluated": counts[r["id"]],
            "rejudged": rejudged,
            "unchanged": total - counts[r["id"]],
            "scored": sum(v for k, v in verdicts[r["id"]].items() if k != "not-scored"),
            "not_scored": verdicts[r["id"]].get("not-scored", 0),
            "verdicts": verdicts[r["id"]],
        }
        for r in rules
    }
    update_products(db)  # products and offers follow the evaluations they are read from
    seconds = round(time.perf_counter() - started, 3)
    if isinstance(rubric, str):
        return {**summaries[rules[0]["id"]], "seconds": seconds}
    return {
        "listings": total,
        "evaluated": len(due),
        "rejudged": rejudged,
        "unchanged": total - len(due),
        "rubrics": summaries,
        "seconds": seconds,
    }


def ids_to_evaluate(
    db: sqlite_utils.Database, rubric: str = SCORED_RUBRIC, everything: bool = False
) -> list[str]:
    """Listing ids ``evaluate_db`` would score now (for progress bars and dry runs)."""
    return _ids_to_score(db, load_rubric(rubric), everything)
