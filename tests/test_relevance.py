"""The relevance judgement (evaluator.relevance.judge) on hand-written listings in the styles real shops
use. Measured on real listings by bench/relevance.py."""

from __future__ import annotations

import pytest

from evaluator.relevance import judge
from evaluator.text import resolve_field

INCI_WITH_C = "Aqua, L-Ascorbic Acid, Glycerin, Tocopherol, Ferulic Acid, Phenoxyethanol"
TRACE_ONLY = (
    "Aqua, Glycerin, Niacinamide, Retinol, Squalane, Panthenol, Phenoxyethanol, Ascorbyl Palmitate"
)


@pytest.mark.parametrize(
    ("listing", "candidate", "kind", "rule"),
    [
        # kinds from the title: areas win anywhere, otherwise the head noun
        ({"title": "Vitamin C Make Up Remover Wipes"}, False, "cleanser", "kind"),
        ({"title": "Vitamin C Cleansing Oil"}, False, "cleanser", "kind"),
        ({"title": "Vita C Serum Sheet Mask"}, False, "mask", "kind"),
        ({"title": "Vitamin C Capsule Cream"}, False, "moisturizer", "kind"),
        ({"title": "Vitamin C 1000mg Capsules"}, False, "supplement", "kind"),
        ({"title": "Titanium Derma Roller 0.5mm"}, False, "device", "kind"),
        ({"title": "Vitamin C Eye Serum"}, False, "eye", "kind"),
        ({"title": "Vitamin C Tanning Oil SPF 15"}, False, "sunscreen", "kind"),
        ({"title": "Vitamin C Brightening Toner"}, False, "toner", "kind"),
        ({"title": "Glow Getter Vitamin C Serum + Cream Gift Set"}, False, "kit", "kind"),
        ({"title": "Oil-Lifting Vitamin C Serum", "ingredients_text": INCI_WITH_C}, True, "serum", "candidate"),
        ({"title": "Vitamin C24 Facial Oil"}, True, "oil", "candidate"),
        ({"title": "Vitamina C Ampoule"}, True, "serum", "candidate"),
        ({"title": "C-15 Super Booster"}, True, "serum", "candidate"),
        ({"title": "Kakadu C High Potency Night Oil"}, True, "oil", "candidate"),
        ({"title": "Intensive-C Radiance Treatment"}, True, "treatment", "candidate"),
        ({"title": "Skin Solutions C + E Serum with Ferulic Acid"}, True, "serum", "candidate"),
        # kind from structured categories when the title names none
        ({"title": "Vitamin C Glow", "categories": ["Skincare", "Treatments", "Face Serums"]}, True, "serum", "candidate"),
        ({"title": "Vitamin C Glow", "categories": ["Skincare > Moisturizers > Face Oils"]}, True, "oil", "candidate"),
        ({"title": "Vitamin C Glow", "categories": ["Skincare > Eye Care"]}, False, "eye", "kind"),
        ({"title": "Vitamin C Glow", "categories": ["moisturizing-cream-oils-mists"]}, False, None, "unknown kind"),
        ({"title": "Vitamin C Glow", "tags": ["serum", "vitamin c"]}, True, "serum", "candidate"),
        # featured: never merely because the description carries the ingredient list
        ({"title": "Retinol Night Serum", "description": "A gentle retinol. Ingredients: " + TRACE_ONLY}, False, "serum", "not featured"),
        ({"title": "Brightening Serum", "ingredients_text": TRACE_ONLY}, False, "serum", "not featured"),
        ({"title": "Glow Drops", "ingredients_text": "Aqua, Ascorbic Acid, Glycerin, Phenoxyethanol"}, True, "serum", "candidate"),
        ({"title": "Radiance Serum", "ingredients_text": "-Vitamin C Ester: brightens.\n" + TRACE_ONLY}, True, "serum", "candidate"),
        ({"title": "Radiance Serum", "description": "With 15% vitamin C for brighter skin."}, True, "serum", "candidate"),
        ({"title": "Vitamin C Alternative Serum"}, False, "serum", "not featured"),
        ({"title": "Vitamin C Serum", "ingredients_text": "Aqua, Glycerin, Kakadu Plum Extract, Phenoxyethanol"}, False, "serum", "no vitamin C form"),
        ({"title": "Night Serum"}, False, "serum", "not featured"),
        ({"title": "Vitamin C"}, False, None, "unknown kind"),
    ],
)  # fmt: skip
def test_judgement(listing, candidate, kind, rule):
    verdict = judge(listing)
    assert (verdict["candidate"], verdict["kind"], verdict["rule"]) == (candidate, kind, rule), (
        verdict
    )


def test_reason_quotes_its_evidence_and_evidence_points_at_the_listing():
    listing = {
        "title": "Vita C Glow",
        "categories": ["Skincare", "Face Serums"],
        "ingredients_text": INCI_WITH_C,
    }
    verdict = judge(listing)
    assert verdict["candidate"]
    assert "'Vita C'" in verdict["reason"] and "'Face Serums'" in verdict["reason"]
    for found in verdict["evidence"]:
        text = resolve_field(listing, found["field"])
        assert text[found["start"] : found["end"]] == found["text"]


@pytest.mark.parametrize(
    "listing",
    [
        None,
        {},
        {"title": None, "categories": "not a list", "tags": [1, None, {"x": 1}]},
        {"title": "\ud800 Vitamin C Serum"},
        {"title": "Serum " * 50_000, "description": "vitamin c " * 100_000},
        {
            "title": "Vitamin C Serum",
            "ingredients_text": ", ".join(f"Extract {i}" for i in range(500)),
        },
        {"title": "<b>Vitamin</b> C <script>x</script> Serum", "categories": ["<>" * 1000]},
    ],
)
def test_bad_input_is_judged_without_raising(listing):
    verdict = judge(listing)
    assert isinstance(verdict["candidate"], bool)
    assert verdict["reason"]
    assert verdict["rule"] != "error", verdict


def test_evaluate_judges_again_listings_judged_with_other_rules(tmp_path):
    """A rule change needs no re-crawl: `evaluate` re-judges stale listings, then scores them."""
    from serumscope.evaluation_store import evaluate_db
    from serumscope.store.database import open_db

    db = open_db(tmp_path / "stale.db")
    db["shops"].insert({"name": "shop"})
    stale = {"is_candidate": 0, "relevance_reason": "old rule", "relevance_version": "0"}
    db["listings"].insert_all(
        [
            {"id": "shop:1", "shop": "shop", "title": "Vita C Serum", "ingredients_text": INCI_WITH_C, **stale},
            {"id": "shop:2", "shop": "shop", "title": "Vitamin C Sheet Mask", "ingredients_text": INCI_WITH_C},
        ]
    )  # fmt: skip
    summary = evaluate_db(db)
    assert summary["rejudged"] == 2
    rows = {r["id"]: r for r in db["listings"].rows}
    assert rows["shop:1"]["is_candidate"] == 1 and rows["shop:1"]["relevance_rule"] == "candidate"
    assert rows["shop:2"]["product_kind"] == "mask" and rows["shop:2"]["is_candidate"] == 0
    verdicts = {
        r["listing_id"]: r["verdict"] for r in db["evaluations"].rows_where("rubric = 'post'")
    }
    assert verdicts["shop:1"] != "not-scored" and verdicts["shop:2"] == "not-scored"
    assert evaluate_db(db)["rejudged"] == 0
