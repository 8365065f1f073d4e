"""Generated listings, variants and evaluations written straight into the schema.

For the site's benchmark (100,000 rows) and tests that need many rows or a hostile listing without a
crawl. The wording is generated here, in our own words; the evaluations imitate the evaluator's output
shape (breakdown with exact evidence spans) but are not scored by it.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlite_utils

from serumscope.store.database import open_db, transaction
from serumscope.store.schema import refresh_site_tables
from serumscope.store.site import SCORED_RUBRIC

BRANDS = ["Lumen Lab", "Citrine", "Orchard & Oak", "Dewpoint", "Halcyon", "Brightwell", "Nordlys"]
SHOPS = ["glowjar", "serum-depot", "dermacart", "apothecary-row"]
FORMS = [
    ("L-Ascorbic Acid", "l-ascorbic-acid"),
    ("Sodium Ascorbyl Phosphate", "sodium-ascorbyl-phosphate"),
    ("Ascorbyl Glucoside", "ascorbyl-glucoside"),
    ("Tetrahexyldecyl Ascorbate", "tetrahexyldecyl-ascorbate"),
]
BOTTLES = [
    ("amber glass bottle", "opaque"),
    ("frosted clear bottle", "clear"),
    ("airless opaque pump", "opaque"),
    ("clear glass dropper bottle", "clear"),
    (None, "unknown"),
]
EXTRAS = [
    "Ferulic Acid",
    "Tocopherol",
    "Sodium Hyaluronate",
    "Glycerin",
    "Aloe Barbadensis Leaf Juice",
]
PLANTS = [
    "Camellia Sinensis",
    "Centella Asiatica",
    "Citrus Aurantium",
    "Rosa Canina",
    "Vitis Vinifera",
]
PLANTS += ["Punica Granatum", "Curcuma Longa", "Glycyrrhiza Glabra", "Terminalia Ferdinandiana"]
PLANTS += ["Myrciaria Dubia", "Malpighia Emarginata", "Hippophae Rhamnoides", "Moringa Oleifera"]
BOTANICALS = [f"{plant} {part} Extract" for plant in PLANTS for part in ["Leaf", "Fruit", "Seed"]]
XSS_TITLE = (
    '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> '
    "{{ 7*7 }} {% if 1 %}tpl{% endif %} Vitamin C Serum"
)
XSS_LISTING_ID = "hostile:xss-1"


def _evidence(field: str, source: str, text: str) -> dict:
    start = source.index(text)
    return {"field": field, "text": text, "start": start, "end": start + len(text)}


def generated_listing(i: int, rng: random.Random, now: datetime) -> tuple[dict, list, dict]:
    """One listing row, its variant rows and its evaluation row (all as stored, JSON encoded)."""
    shop = SHOPS[i % len(SHOPS)]
    brand = BRANDS[rng.randrange(len(BRANDS))]
    form_name, form_id = FORMS[rng.randrange(len(FORMS))]
    percent = rng.choice([None, 5, 10, 15, 20, 22])
    bottle, light = BOTTLES[rng.randrange(len(BOTTLES))]
    size_ml = rng.choice([15, 30, 50])
    price = round(rng.uniform(8, 90), 2)
    title = f"{brand} Vitamin C Serum {i}" + (f" {percent}%" if percent else "")
    extras = rng.sample(EXTRAS, 3)
    botanicals = rng.sample(BOTANICALS, 2)
    ingredients = ", ".join(["Aqua", form_name, *extras, *botanicals, "Phenoxyethanol"])
    if i % 7 == 3:  # the form after a <= 1% preservative: a stated percentage it contradicts
        ingredients = ", ".join(["Aqua", *extras, "Phenoxyethanol", form_name, *botanicals])
    description = f"A daily vitamin C serum with {form_name}."
    if percent:
        description += f" Contains {percent}% {form_name}."
    if bottle:
        description += f" Packed in an {bottle} to keep light out."
    seen = (now - timedelta(hours=rng.randrange(72))).isoformat(timespec="seconds")
    listing_id = f"{shop}:{100000 + i}"
    listing = {
        "id": listing_id,
        "shop": shop,
        "platform": "shopify",
        "url": f"https://{shop}.example/products/vitamin-c-{i}",
        "canonical_id": str(100000 + i),
        "title": title,
        "brand": brand,
        "description": description,
        "description_html": f"<p>{description}</p>",
        "ingredients_text": ingredients,
        "image_alts": json.dumps([title]),
        "tags": json.dumps(["vitamin c", "serum"]),
        "categories": json.dumps(["Skincare", "Serums"]),
        "provenance": json.dumps({"title": "api", "ingredients_text": "html"}),
        "is_candidate": 1,
        "relevance_reason": "vitamin C serum",
        "fetched_at": seen,
        "first_seen": seen,
        "last_seen": seen,
        "last_run_id": 1,
        "gone_since": None,
        "input_hash": f"h{i}",
    }
    variants = [
        {
            "id": f"{listing_id}:0",
            "listing_id": listing_id,
            "position": 0,
            "title": f"{size_ml} ml",
            "size_text": f"{size_ml} mL",
            "price": f"{price:.2f}",
            "regular_price": None,
            "currency": "USD",
            "available": 1,
            "sku": f"SKU-{i}",
            "last_seen": seen,
        }
    ]
    per_30 = round(price * 30 / size_ml, 2)
    breakdown = [
        {
            "id": "light",
            "title": "Opaque or dark packaging",
            "status": {"opaque": "pass", "clear": "fail", "unknown": "unknown"}[light],
            "points": {"opaque": 30, "clear": 0, "unknown": 0}[light],
            "max_points": 30,
            "reason": f"packaging: {bottle}" if bottle else "packaging not described",
            "evidence": [_evidence("description", description, bottle)] if bottle else [],
        },
        {
            "id": "percentages",
            "title": "Active percentages stated",
            "status": "pass" if percent else "fail",
            "points": 40 if percent else 0,
            "max_points": 40,
            "reason": f"{percent}% {form_name} stated" if percent else "no percentage stated",
            "evidence": [_evidence("description", description, f"{percent}% {form_name}")]
            if percent
            else [],
        },
        {
            "id": "price",
            "title": "Price around $30 per 30 mL",
            "status": "pass" if 20 <= per_30 <= 45 else "partial",
            "points": 30 if 20 <= per_30 <= 45 else 10,
            "max_points": 30,
            "reason": f"${per_30} per 30 mL",
            "evidence": [_evidence("title", f"{size_ml} ml", f"{size_ml} ml")],
        },
    ]
    score = sum(c["points"] for c in breakdown)
    verdict = "recommend" if score >= 80 else "consider" if score >= 50 else "avoid"
    evaluation = {
        "listing_id": listing_id,
        "rubric": SCORED_RUBRIC,
        "rubric_version": "generated",
        "score": score,
        "verdict": verdict,
        "vitamin_c_forms": json.dumps([form_id]),
        "vitamin_c_percent": percent,
        "light": light,
        "dispenser": "pump" if bottle and "pump" in bottle else "dropper",
        "size_ml": size_ml,
        "price": price,
        "currency": "USD",
        "price_usd": price,
        "price_converted": 0,
        "price_per_30ml": per_30,
        "price_per_gram_vitamin_c": round(price / (size_ml * percent / 100), 2)
        if percent
        else None,
        "breakdown": json.dumps(breakdown),
        "facts": json.dumps({"generated": True}),
        "input_hash": f"h{i}",
        "evaluated_at": seen,
    }
    return listing, variants, evaluation


def write_generated_listings(db: sqlite_utils.Database, count: int, seed: int = 7) -> None:
    """Add ``count`` generated listings with variants and evaluations, then refresh the search index."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    listings, variants, evaluations = [], [], []
    for i in range(count):
        listing, listing_variants, evaluation = generated_listing(i, rng, now)
        listings.append(listing)
        variants.extend(listing_variants)
        evaluations.append(evaluation)
    shops = [
        {"name": s, "platform": "shopify", "base_url": f"https://{s}.example", "config": "{}"}
        for s in SHOPS
    ]
    with transaction(db):
        db["shops"].upsert_all(shops, pk="name")
        _insert_rows(db, "listings", listings)
        _insert_rows(db, "variants", variants)
        _insert_rows(db, "evaluations", evaluations)
    refresh_site_tables(db)


def write_hostile_listing(db: sqlite_utils.Database, with_evaluation: bool = True) -> str:
    """Add one listing whose every text field carries script, markup and template payloads.

    Its wording also states what the rubric looks for (percentages, amber bottle, $29 for 30 mL), so
    the real evaluator ranks it among the top picks, where the most pages show it. Without
    ``with_evaluation`` no evaluation is stored: run the evaluator on it.
    """
    rng = random.Random(1)
    listing, variants, evaluation = generated_listing(0, rng, datetime.now(UTC))
    description = (
        f"{XSS_TITLE}\nContains 20% L-Ascorbic Acid, 1% Vitamin E and 0.5% Ferulic Acid.\n"
        'Packed in an amber glass bottle. <a href="javascript:window.__xss=3">details</a>\n'
        '<svg onload="window.__xss=8"></svg> 1 fl oz (30 ml)'
    )
    listing.update(
        id=XSS_LISTING_ID,
        shop="hostile",
        url="javascript:window.__xss=4",
        title=XSS_TITLE,
        brand='<b onmouseover="window.__xss=5">Evil</b>',
        description=description,
        description_html=description,
        ingredients_text=(
            "Aqua, Ascorbic Acid, Tocopherol, Ferulic Acid, <script>window.__xss=6</script>, "
            "{{ 7*7 }}, Phenoxyethanol"
        ),
        input_hash="hostile",
    )
    for variant in variants:
        variant.update(
            id=f"{XSS_LISTING_ID}:0",
            listing_id=XSS_LISTING_ID,
            title="30 ml",
            size_text="30 mL",
            price="29.00",
        )
    breakdown = json.loads(evaluation["breakdown"])
    breakdown[0].update(
        status="pass",
        reason='<img src=x onerror="window.__xss=7">',
        evidence=[_evidence("description", description, "<script>window.__xss = 1</script>")],
    )
    evaluation.update(
        listing_id=XSS_LISTING_ID, breakdown=json.dumps(breakdown), score=100, verdict="recommend"
    )
    with transaction(db):
        db["shops"].upsert(
            {"name": "hostile", "platform": "shopify", "base_url": "https://h.example"}, pk="name"
        )
        _insert_rows(db, "listings", [listing], replace=True)
        _insert_rows(db, "variants", variants, replace=True)
        if with_evaluation:
            _insert_rows(db, "evaluations", [evaluation], replace=True)
    refresh_site_tables(db)
    return XSS_LISTING_ID


def _insert_rows(db: sqlite_utils.Database, table: str, rows: list[dict], replace=False) -> None:
    # Plain executemany: ~3x faster than sqlite-utils insert_all for the 100k-row benchmark.
    columns = list(rows[0])
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    sql = f"{verb} INTO [{table}] ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    db.conn.executemany(sql, [[row[c] for c in columns] for row in rows])


def write_demo_site_database(shops, db_path: Path) -> Path:
    """The site as a newcomer sees it plus the hostile listing: crawl ``shops`` (a running
    DemoShops), evaluate for real, add :func:`write_hostile_listing` and score it too."""
    from serumscope.commands.publishing import build_demo_database
    from serumscope.evaluation_store import evaluate_db
    from serumscope.store.database import open_db

    build_demo_database(shops, db_path)
    db = open_db(db_path)
    write_hostile_listing(db, with_evaluation=False)
    evaluate_db(db)
    refresh_site_tables(db)
    db.close()
    return db_path


def get(ds, path: str) -> httpx.Response:
    """A GET through Datasette's in-process test client."""
    return asyncio.run(ds.client.get(path))


def rows(db_path: Path, sql: str, params=()) -> list[dict]:
    db = open_db(db_path)
    try:
        return list(db.query(sql, params))
    finally:
        db.close()
