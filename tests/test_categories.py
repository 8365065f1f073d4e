"""Categories as data: listings sorted into vitamin C serums, micro-needling devices and other; each
category scored by its own rubric, through `serumscope score`, `evaluate` and the site's scores."""

import json
import subprocess
import sys

import pytest

from evaluator import evaluate
from evaluator.categories import categories, category, relevance_columns
from evaluator.rubrics import scored_rubrics
from serumscope.evaluation_store import evaluate_db
from serumscope.store.database import open_db

ROLLER = {
    "id": "tools:roller-05",
    "shop": "tools",
    "title": "Derma Roller 540 Needles 0.5mm",
    "description": "Surgical stainless steel needles, gamma sterilised and individually sealed. "
    "Replace after 15 uses. For face and scalp.",
    "variants": [{"title": "0.5mm", "price": "14.99", "currency": "USD", "available": 1}],
}
PEN = {
    "id": "tools:pen",
    "shop": "tools",
    "title": "Electric Microneedling Pen, adjustable 0.25-2.5mm, 12-pin cartridges",
    "description": "Titanium needles. Not sterile: clean before use.",
    "variants": [{"title": "Pen", "price": "89.00", "currency": "USD", "available": 1}],
}
JADE = {
    "id": "tools:jade",
    "shop": "tools",
    "title": "Jade Facial Roller",
    "description": "A cooling jade stone roller for face massage.",
    "variants": [{"title": "Jade", "price": "12.00", "currency": "USD", "available": 1}],
}
SERUM = {
    "id": "tools:c20",
    "shop": "tools",
    "title": "C20 Serum - 20% Vitamin C",
    "description": "20% L-ascorbic acid in an amber glass bottle.",
    "ingredients_text": "Water, Ascorbic Acid, Propylene Glycol, Tocopherol, Phenoxyethanol",
    "variants": [{"title": "30 ml", "price": "32.00", "currency": "USD", "available": 1}],
}


def test_every_category_has_one_scored_rubric_whose_checks_exist():
    assert [c.id for c in categories()] == ["vitamin-c-serum", "micro-needling-device"]
    assert scored_rubrics() == {"vitamin-c-serum": "post", "micro-needling-device": "devices"}
    for each in categories():
        for name in each.rubrics:
            result = evaluate({"title": "x"}, name)
            assert result["category"] == each.id and result["breakdown"]


@pytest.mark.parametrize(
    ("listing", "expected"),
    [(ROLLER, "micro-needling-device"), (PEN, "micro-needling-device"), (JADE, "other"),
     (SERUM, "vitamin-c-serum")],
)  # fmt: skip
def test_listings_are_sorted_into_categories(listing, expected):
    assert relevance_columns(listing)["category"] == expected


def test_a_device_is_scored_by_the_device_rubric_with_its_words():
    result = evaluate(ROLLER, "devices")
    points = {c["id"]: (c["status"], c["points"]) for c in result["breakdown"]}
    assert points["needle_length"] == ("pass", 30)
    assert points["needle_material"] == ("pass", 25)
    assert points["sterile_packaging"] == ("pass", 15)
    assert points["intro_price"][0] == "pass"
    assert result["verdict"] == "recommend"
    length = next(c for c in result["breakdown"] if c["id"] == "needle_length")
    assert "0.5 mm" in length["reason"] and "Dark spots" not in length["reason"]
    assert any(e["text"] == "0.5mm" for e in length["evidence"])
    assert result["facts"]["price_per_use"] == pytest.approx(1.0)  # 14.99 over its 15 uses


def test_a_pen_longer_than_home_use_is_flagged_and_not_recommended():
    result = evaluate(PEN, "devices")
    length = next(c for c in result["breakdown"] if c["id"] == "needle_length")
    assert length["status"] == "partial" and "professional" in length["reason"]
    assert "professional_needle_length" in {f["flag"] for f in result["red_flags"]}
    assert result["verdict"] != "recommend"


def test_score_picks_the_rubric_of_the_listings_category(tmp_path):
    path = tmp_path / "roller.json"
    path.write_text(json.dumps(ROLLER))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from serumscope.cli import cli; cli()",
            "score",
            "--compact",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["rubric"] == "devices" and result["verdict"] == "recommend"


def _store(db, listing):
    db["shops"].upsert(
        {"name": "tools", "platform": "shopify", "base_url": "http://127.0.0.1"}, pk="name"
    )
    row = {k: v for k, v in listing.items() if k != "variants"}
    db["listings"].upsert({**row, "input_hash": listing["id"]}, pk="id")
    for i, variant in enumerate(listing["variants"]):
        db["variants"].upsert(
            {"id": f"{listing['id']}:{i}", "listing_id": listing["id"], "position": i, **variant},
            pk="id",
        )


def test_evaluate_scores_each_category_with_its_rubric_and_scores_shows_it(tmp_path):
    db = open_db(tmp_path / "s.db")
    for listing in (ROLLER, PEN, JADE, SERUM):
        _store(db, listing)
    assert evaluate_db(db, rubric="post")["evaluated"] == 4
    devices = evaluate_db(db, rubric="devices")
    assert devices["evaluated"] == 2 and devices["not_scored"] == 0
    rows = {
        r["listing_id"]: r
        for r in db.query("select listing_id, category, rubric, verdict, needle_max_mm from scores")
    }
    assert rows["tools:roller-05"]["rubric"] == "devices"
    assert rows["tools:roller-05"]["verdict"] == "recommend"
    assert rows["tools:pen"]["needle_max_mm"] == 2.5
    assert (
        rows["tools:c20"]["rubric"] == "post" and rows["tools:c20"]["category"] == "vitamin-c-serum"
    )
    assert rows["tools:jade"]["verdict"] == "not-scored"
    # a listing whose category changes away is scored "not-scored" by the rubric it left
    db.execute("update listings set category = 'other' where id = 'tools:pen'")
    db.conn.commit()
    again = evaluate_db(db, rubric="devices")
    assert again["evaluated"] == 1 and again["not_scored"] == 1
    assert category("micro-needling-device").scored_rubric == "devices"
