"""The site bench's database: real-length listings scored by the real evaluator, with a second
crawl's history.

Templates: each real listing of ../shared/data/real_listings/ (its ingredient list, description and
categories, read at run time through bench/real_listings.py) dressed as a shop listing by
tests/site_fixtures.py (shop, brand, a title naming a vitamin C serum, a description stating a
percentage and a bottle, one variant with a size and a price), judged by the relevance rules and
scored by the real evaluator. Without the folder, the generated listings alone are scored. Listing
``i`` copies template ``i % templates`` under its own id and title, with its template's evaluation
(facts, breakdown, ingredients, actives) as the evaluator wrote it, stored by the evaluation writer.

History: crawl run 1 writes everything; crawl run 2 sees every listing again and changes 5% of prices
(half of them drops), 1% of availabilities, 1% of ingredient lists, 1% of names, marks 1% gone and
re-scores 3% (a third of them newly recommended), all through the store's triggers as a re-crawl and
re-evaluation would.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator import evaluate
from evaluator.categories import relevance_columns
from evaluator.listing import JSON_COLUMNS, listing_columns
from serumscope.evaluation_store import active_rows, evaluation_row, ingredient_rows
from serumscope.store.database import open_db, transaction
from serumscope.store.schema import refresh_site_tables
from serumscope.store.writers import replace_evaluations

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from real_listings import listing_from_row, read_rows  # noqa: E402
from site_fixtures import SHOPS, generated_listing  # noqa: E402  (a test fixture, not the package)

RUN_1, RUN_2 = "2026-11-21T06:00:00Z", "2026-11-22T06:00:00Z"


def _template(j: int, real: dict | None, rng: random.Random, now: datetime) -> dict:
    """One listing dict (docs/schema.md), judged and scored, with its stored rows."""
    listing, variants, _ = generated_listing(j, rng, now)
    for column in JSON_COLUMNS:
        listing[column] = json.loads(listing[column])
    if real:
        real = listing_from_row(real)
        listing["ingredients_text"] = real["ingredients_text"] or listing["ingredients_text"]
        listing["description"] = f"{listing['description']}\n{real['description'] or ''}".strip()
        listing["categories"] = real["categories"] or listing["categories"]
    listing["variants"] = variants
    listing.update(relevance_columns(listing))
    result = evaluate(listing)
    return {
        "listing": listing,
        "evaluation": evaluation_row(listing, result, RUN_1),
        "ingredients": list(ingredient_rows(listing["id"], result["facts"])),
        "actives": list(active_rows(listing["id"], result["facts"])),
    }


def _copy(template: dict, i: int) -> tuple[dict, list, dict, list, list]:
    listing = template["listing"]
    shop = SHOPS[i % len(SHOPS)]
    listing_id = f"{shop}:{200000 + i}"
    row = {column: listing.get(column) for column in listing_columns()}
    for column in JSON_COLUMNS:
        row[column] = json.dumps(row[column]) if row[column] is not None else None
    row.update(
        id=listing_id,
        shop=shop,
        canonical_id=str(200000 + i),
        url=f"https://{shop}.example/products/vitamin-c-{i}",
        title=f"{listing['title'].rsplit(' ', 1)[0]} no. {i}",
        first_seen=RUN_1,
        last_seen=RUN_1,
        fetched_at=RUN_1,
        last_run_id=1,
    )
    variants = [
        {**v, "id": f"{listing_id}:{n}", "listing_id": listing_id, "last_seen": RUN_1}
        for n, v in enumerate(listing["variants"])
    ]
    evaluation = {**template["evaluation"], "listing_id": listing_id}
    ingredients = [{**r, "listing_id": listing_id} for r in template["ingredients"]]
    actives = [{**r, "listing_id": listing_id} for r in template["actives"]]
    return row, variants, evaluation, ingredients, actives


def _insert(db, table: str, rows: list[dict]) -> None:
    if rows:
        columns = list(rows[0])
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO [{table}] ({', '.join(columns)}) VALUES ({marks})"
        db.conn.executemany(sql, [[row[c] for c in columns] for row in rows])


def _second_run(db, rng: random.Random) -> None:
    """Crawl run 2 and its re-evaluation, through the triggers: the history a re-crawl writes."""
    ids = [row[0] for row in db.execute("select id from listings order by rowid").fetchall()]
    count = len(ids)
    with transaction(db):
        db["crawl_runs"].insert(
            {
                "id": 2,
                "started_at": RUN_2,
                "finished_at": RUN_2,
                "status": "ok",
                "listings_seen": count,
            }
        )
        db.execute("update listings set last_run_id = 2, last_seen = ?", [RUN_2])
        db.execute("update variants set last_seen = ?", [RUN_2])
        for listing_id in rng.sample(ids, count // 20):
            factor = rng.choice([0.8, 0.9, 1.1, 1.25])
            db.execute(
                "update variants set price = printf('%.2f', price * ?) where listing_id = ?",
                [factor, listing_id],
            )
        for listing_id in rng.sample(ids, count // 100):
            db.execute(
                "update variants set available = 1 - available where listing_id = ?", [listing_id]
            )
        for listing_id in rng.sample(ids, count // 100):
            db.execute(
                "update listings set ingredients_text = ingredients_text || ', Tocopherol'"
                " where id = ?",
                [listing_id],
            )
        for listing_id in rng.sample(ids, count // 100):
            db.execute(
                "update listings set title = title || ' (new look)' where id = ?", [listing_id]
            )
        for listing_id in rng.sample(ids, count // 100):
            db.execute("update listings set gone_since = ? where id = ?", [RUN_2, listing_id])
        rescored = rng.sample(ids, count * 3 // 100)
        for n, listing_id in enumerate(rescored):
            score, verdict = (
                (85, "recommend") if n % 3 == 0 else (rng.randrange(20, 60), "consider")
            )
            db.execute(
                "update evaluations set score = ?, verdict = ?, evaluated_at = ?"
                " where listing_id = ? and verdict != 'not-scored'",
                [score, verdict, RUN_2, listing_id],
            )


def build_site_database(path: Path, count: int, templates: int = 2000, seed: int = 7) -> str:
    """Write ``count`` listings into a new database at ``path``; returns what the data is."""
    rng = random.Random(seed)
    now = datetime.now(UTC) - timedelta(days=1)
    real_rows = read_rows() or []
    started = time.perf_counter()
    made = [
        _template(j, real_rows[j % len(real_rows)] if real_rows else None, rng, now)
        for j in range(min(templates, count))
    ]
    scored = time.perf_counter() - started
    db = open_db(path)
    with transaction(db):
        db["shops"].insert_all(
            [{"name": s, "platform": "shopify", "base_url": f"https://{s}.example"} for s in SHOPS]
        )
        db["crawl_runs"].insert(
            {
                "id": 1,
                "started_at": RUN_1,
                "finished_at": RUN_1,
                "status": "ok",
                "listings_seen": count,
            }
        )
    for offset in range(0, count, 1000):
        rows = [_copy(made[i % len(made)], i) for i in range(offset, min(count, offset + 1000))]
        with transaction(db):
            _insert(db, "listings", [r[0] for r in rows])
            _insert(db, "variants", [v for r in rows for v in r[1]])
        replace_evaluations(
            db,
            [r[0]["id"] for r in rows],
            [r[2] for r in rows],
            [x for r in rows for x in r[3]],
            [x for r in rows for x in r[4]],
        )
    _second_run(db, rng)
    refresh_site_tables(db)
    verdicts = dict(db.execute("select verdict, count(*) from scores group by verdict").fetchall())
    db.close()
    source = f"{len(real_rows):,} real listings" if real_rows else "generated listings only"
    return (
        f"{count:,} listings from {len(made):,} templates ({source}, scored by the evaluator in"
        f" {scored:.0f} s), built in {time.perf_counter() - started:.0f} s; verdicts {verdicts}"
    )
