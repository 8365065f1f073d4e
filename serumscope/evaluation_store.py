"""Score stored listings and save the results: ``evaluations``, ``ingredients`` and ``actives``.

Reading (listings + variants -> listing dicts), scoring (``evaluator.evaluate``, pure) and writing are
separate steps; writes happen in one transaction per batch so an interrupted run never leaves a listing
half-written. Only listings whose ``input_hash``, the rubric's version or the vocabularies changed, or whose candidacy
(``is_candidate``, set by the relevance step and not part of the input hash) no longer matches the
stored scored / not-scored state, are re-scored unless ``everything`` is asked for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import sqlite_utils

from evaluator import evaluate, load_rubric
from evaluator.headline import HEADLINE_FACTS, headline_values
from evaluator.relevance import relevance_columns, relevance_version
from evaluator.vocab import vocabulary_version
from serumscope.store.clock import utc_now
from serumscope.store.database import transaction
from serumscope.store.rows import storable_json
from serumscope.store.schema import ensure_schema
from serumscope.store.site import SCORED_RUBRIC
from serumscope.store.tables import LISTING_JSON_COLUMNS
from serumscope.store.writers import replace_evaluations

BATCH_SIZE = 500


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
    sql = """
        select l.id from listings l
        left join evaluations e on e.listing_id = l.id and e.rubric = :rubric
        where :everything or e.listing_id is null
           or e.input_hash is not l.input_hash or e.rubric_version is not :version
           or e.vocabulary_version is not :vocabulary
           or (e.verdict = 'not-scored') is not (l.is_candidate is not 1)
        order by l.id
    """
    params = {
        "rubric": rubric["id"],
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
    facts = result["facts"]
    candidate = listing.get("is_candidate") == 1
    headline = {
        fact.column: storable_json(value) if fact.json and value is not None else value
        for fact, value in zip(HEADLINE_FACTS, headline_values(facts).values(), strict=True)
    }
    return {
        "listing_id": listing["id"],
        "rubric": result["rubric"],
        "rubric_version": result["rubric_version"],
        "score": result["score"] if candidate else None,
        "verdict": result["verdict"] if candidate else "not-scored",
        "verdict_reason": result["verdict_reason"]
        if candidate
        else f"not a vitamin C serum candidate: {listing.get('relevance_reason') or 'not judged'}",
        "red_flags": storable_json(result.get("red_flags", []) if candidate else []),
        **headline,
        "shortfalls": shortfalls(result["breakdown"]) if candidate else None,
        "breakdown": storable_json(result["breakdown"] if candidate else []),
        "facts": storable_json(facts),
        "input_hash": listing.get("input_hash"),
        "evaluated_at": evaluated_at,
        "vocabulary_version": vocabulary_version(),
    }


def ingredient_rows(listing_id: str, facts: dict) -> Iterator[dict]:
    for item in (facts.get("ingredients") or {}).get("items", []):
        yield {
            "listing_id": listing_id,
            "position": item["position"],
            "raw": item["raw"],
            "canonical": item["canonical"],
            "known": int(item["known"]),
        }


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


def _write(db: sqlite_utils.Database, listings: list[dict], results: list[dict]) -> None:
    now = utc_now()
    pairs = list(zip(listings, results, strict=True))
    replace_evaluations(
        db,
        [listing["id"] for listing in listings],
        (evaluation_row(listing, result, now) for listing, result in pairs),
        (
            row
            for listing, result in pairs
            for row in ingredient_rows(listing["id"], result["facts"])
        ),
        (row for listing, result in pairs for row in active_rows(listing["id"], result["facts"])),
    )


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


def evaluate_db(
    db: sqlite_utils.Database,
    rubric: str = SCORED_RUBRIC,
    everything: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Score new or changed listings (all with ``everything``) with ``rubric`` and store the results.

    ``progress`` is called with the number of listings done after each batch (click.progressbar's
    ``update`` fits). Returns a summary: counts of listings to score, scored, not-scored (not
    candidates), unchanged, and verdicts. Listings judged with older relevance rules are judged again
    first (``rejudged``).
    """
    rules = load_rubric(rubric)
    ensure_schema(db)
    started = time.perf_counter()
    rejudged = rejudge_stale(db)
    ids = _ids_to_score(db, rules, everything)
    total = db.execute("select count(*) from listings").fetchone()[0]
    verdicts: dict[str, int] = {}
    for offset in range(0, len(ids), BATCH_SIZE):
        listings = listing_dicts(db, ids[offset : offset + BATCH_SIZE])
        results = [evaluate(listing, rubric) for listing in listings]
        _write(db, listings, results)
        for listing, result in zip(listings, results, strict=True):
            verdict = result["verdict"] if listing.get("is_candidate") == 1 else "not-scored"
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        if progress is not None:
            progress(len(listings))
    return {
        "rubric": rules["id"],
        "rubric_version": str(rules["version"]),
        "listings": total,
        "evaluated": len(ids),
        "rejudged": rejudged,
        "unchanged": total - len(ids),
        "scored": sum(v for k, v in verdicts.items() if k != "not-scored"),
        "not_scored": verdicts.get("not-scored", 0),
        "verdicts": verdicts,
        "seconds": round(time.perf_counter() - started, 3),
    }


def ids_to_evaluate(
    db: sqlite_utils.Database, rubric: str = SCORED_RUBRIC, everything: bool = False
) -> list[str]:
    """Listing ids ``evaluate_db`` would score now (for progress bars and dry runs)."""
    return _ids_to_score(db, load_rubric(rubric), everything)
