"""The seed post's chart, reproduced by the `post` rubric, and the demo shops' vitamin C listings
checked against the facts their data files promise."""

import html
import re
import tomllib
from pathlib import Path

import pytest

from evaluator import evaluate
from evaluator.inci import canonicalise
from evaluator.schema import problems
from serumscope.paths import DATA_DIR

DEMO = DATA_DIR / "demo_shops"
SHOP_CURRENCY = {"shopify": "USD", "woocommerce": "USD", "retailer": "GBP"}


def _plain(fragment: str | None) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</h\d>|</div>", "\n", fragment or "")
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def demo_listing(path: Path) -> tuple[dict, dict]:
    """(data file, listing dict as the crawler builds it from that shop's page)."""
    product = tomllib.loads(path.read_text(encoding="utf-8"))
    platform = path.parent.name
    description = "\n".join(
        t
        for t in (_plain(product.get("short_description")), _plain(product.get("description")))
        if t
    )
    currency = product.get("currency", SHOP_CURRENCY[platform])
    listing = {
        "id": f"{platform}:{path.stem}",
        "title": product["title"],
        "brand": product.get("brand"),
        "description": description,
        "ingredients_text": product.get("ingredients"),
        "image_alts": [i["alt"] for i in product.get("images", []) if i.get("alt")],
        "tags": product.get("tags"),
        "categories": product.get("categories"),
        "is_candidate": 1,
        "variants": [
            {
                "position": i,
                "title": v["title"],
                "price": v["price"],
                "regular_price": v.get("compare_at_price"),
                "currency": currency,
            }
            for i, v in enumerate(product.get("variants", []))
        ],
    }
    return product, listing


def demo_candidates() -> list[Path]:
    return sorted(
        p
        for p in DEMO.glob("*/*.toml")
        if p.parent.name in SHOP_CURRENCY and tomllib.loads(p.read_text())["expected"]["candidate"]
    )


def by_title(word: str) -> dict:
    for path in demo_candidates():
        product, listing = demo_listing(path)
        if word.lower() in product["title"].lower():
            return listing
    raise LookupError(word)


HAND_BUILT = {
    "serumtologie": {
        "id": "glowjar:serumtologie",
        "title": "Serumtologie C Serum - 22% Vitamin C with Hyaluronic Acid & Ferulic Acid",
        "description": "22% Sodium Ascorbyl Phosphate (vitamin C)\n5% Hyaluronic Acid\n1% Ferulic Acid\n"
        "1% Vitamin E\nPacked in an amber glass dropper bottle to keep light out. 1 fl oz (30 ml).",
        "ingredients_text": "Aqua, Sodium Ascorbyl Phosphate, Sodium Hyaluronate, Glycerin, Ferulic Acid, "
        "Tocopherol, Phenoxyethanol",
        "variants": [{"title": "1 fl oz", "price": "29.00", "currency": "USD"}],
    },
    "skin solutions": {
        "id": "peachleaf:skin-solutions",
        "title": "Skin Solutions C + E Serum with Ferulic Acid",
        "description": "Key actives: L-Ascorbic Acid 20%, Vitamin E 1%, ferulic acid 0.5%.\nSize: 1 fl oz.",
        "ingredients_text": "Water, Ethoxydiglycol, L-Ascorbic Acid, Glycerin, Tocopherol, Ferulic Acid, "
        "Phenoxyethanol",
        "variants": [{"title": "1 fl oz", "price": "36.00", "currency": "USD"}],
    },
    "art naturals": {
        "id": "larkspur:art-naturals",
        "title": "Art Naturals Enhanced Vitamin C Serum with Hyaluronic Acid",
        "description": "Vitamin C, hyaluronic acid and vitamin E in a lightweight serum. 100% vegan. "
        "Helps the look of dark spots for clearer skin.",
        "ingredients_text": "Aqua, Aloe Barbadensis Leaf Juice, Sodium Ascorbyl Phosphate, Glycerin, "
        "Sodium Hyaluronate, Phenoxyethanol",
        "variants": [{"title": "1 fl oz", "price": "13.99", "currency": "USD"}],
    },
}


@pytest.mark.parametrize("source", ["hand-built", "demo data files"])
def test_post_rubric_reproduces_the_chart(source):
    if source == "hand-built":
        first, second, avoid = (
            HAND_BUILT[k] for k in ("serumtologie", "skin solutions", "art naturals")
        )
    else:
        first, second, avoid = (
            by_title("Serumtologie"),
            by_title("Skin Solutions"),
            by_title("Art Naturals"),
        )
    results = [evaluate(listing, "post") for listing in (first, second, avoid)]
    for listing, result in zip((first, second, avoid), results, strict=True):
        assert problems(result, listing) == []
    serumtologie, skin_solutions, art_naturals = results
    assert serumtologie["score"] > skin_solutions["score"] > art_naturals["score"]
    assert serumtologie["verdict"] == "recommend"
    assert skin_solutions["verdict"] in ("recommend", "consider")
    assert art_naturals["verdict"] == "avoid"
    percentages = {c["id"]: c for c in art_naturals["breakdown"]}["active_percentages"]
    assert percentages["status"] == "fail"
    assert "No vitamin C percentage" in percentages["reason"]


def test_chart_facts_carry_their_words():
    result = evaluate(by_title("Serumtologie"), "post")
    stated = {a["active"]: a for a in result["facts"]["actives"]}
    assert stated["vitamin_c"]["percent"] == 22.0
    assert stated["vitamin_c"]["form"] == "sodium ascorbyl phosphate"
    assert stated["hyaluronic_acid"]["percent"] == 5.0
    assert stated["ferulic_acid"]["percent"] == 1.0
    assert stated["vitamin_e"]["percent"] == 1.0
    assert result["facts"]["light"]["value"] == "protective"
    assert any("amber glass" in e["text"] for e in result["facts"]["light"]["evidence"])
    assert result["facts"]["price_per_30ml"] == pytest.approx(29.42, abs=0.1)
    assert result["facts"]["price_per_gram_vitamin_c"] == pytest.approx(29.42 / 6.6, rel=0.02)


def test_extended_rubric_keeps_the_chart_order():
    scores = [
        evaluate(by_title(t), "extended")["score"] for t in ("Serumtologie", "Skin Solutions")
    ]
    assert scores[0] > scores[1]
    assert evaluate(by_title("Art Naturals"), "extended")["verdict"] == "avoid"


DEMO_LIGHT_WORDS = {"protected": "protective", "exposed": "clear", "unstated": "unknown"}


def _form_of(name: str) -> str:
    ingredient = canonicalise(name)
    assert ingredient is not None and ingredient.vitamin_c_form, name
    return ingredient.vitamin_c_form


@pytest.mark.parametrize("path", demo_candidates(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_demo_listing_facts_match_the_page(path):
    product, listing = demo_listing(path)
    expected = product["expected"]
    result = evaluate(listing, "post")
    assert problems(result, listing) == []
    facts = result["facts"]
    assert sorted(f["form"] for f in facts["vitamin_c"]["forms"]) == sorted(
        {_form_of(n) for n in expected["vitamin_c_forms"]}
    )
    assert facts["light"]["value"] == DEMO_LIGHT_WORDS[expected["light"]]
    for stated in expected["stated_percentages"]:
        matches = [
            a
            for a in facts["actives"]
            if a["percent"] == stated.get("percent")
            and a["percent_max"] == stated.get("percent_max", stated.get("percent"))
        ]
        assert matches, (stated, facts["actives"])
    if not expected["stated_percentages"]:
        assert [a for a in facts["actives"] if a["active"] == "vitamin_c"] == []
    if "size_ml" in expected:
        sizes = (
            expected["size_ml"] if isinstance(expected["size_ml"], list) else [expected["size_ml"]]
        )
        assert [o["size_ml"] for o in facts["offers"]] == pytest.approx(sizes, rel=0.02)
    if "dispenser" in expected:
        assert facts["dispenser"]["value"] == expected["dispenser"]
    for words in expected.get("false_friends", []):
        assert all(words not in e["text"] for e in facts["light"]["evidence"])
    if "ph" in expected:
        assert facts["ph"]["min"] <= expected["ph"] <= facts["ph"]["max"]
    if "fragrance" in expected:
        assert sorted(f["raw"] for f in facts["fragrance"]) == sorted(expected["fragrance"])
    if "currency" in expected:
        assert facts["price"]["currency"] == expected["currency"]
        assert facts["price"]["converted"] is (expected["currency"] != "USD")
    if "on_sale" in expected:
        assert any(o["on_sale"] for o in facts["offers"]) is expected["on_sale"]
    if expected.get("barely_water"):
        extended = {c["id"]: c for c in evaluate(listing, "extended")["breakdown"]}
        assert extended["inci_order"]["status"] == "fail"
    if expected.get("claim_contradicts_inci") or expected.get("vitamin_c_after_preservative"):
        extended = {c["id"]: c for c in evaluate(listing, "extended")["breakdown"]}
        assert extended["inci_order"]["status"] == "fail"
