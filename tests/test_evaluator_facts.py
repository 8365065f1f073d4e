"""Facts that need more than one field: forms tied to percentages, offers, sizes, INCI-order bounds."""

import pytest

from evaluator import evaluate, load_rubric


def facts(**listing) -> dict:
    return evaluate({"title": "Vitamin C Serum", **listing})["facts"]


def breakdown(rubric: str, **listing) -> dict:
    result = evaluate({"title": "Vitamin C Serum", **listing}, rubric)
    return {c["id"]: c for c in result["breakdown"]}


def test_form_named_after_the_percentage():
    found = facts(description="Vitamin C (15%) as tetrahexyldecyl ascorbate in squalane.")
    assert [(a["form"], a["percent"]) for a in found["actives"]] == [
        ("tetrahexyldecyl ascorbate", 15.0)
    ]
    assert (
        found["actives"][0]["evidence"][0]["text"] == "Vitamin C (15%) as tetrahexyldecyl ascorbate"
    )


def test_plain_vitamin_c_percentage_takes_the_only_form_in_the_list():
    found = facts(
        title="20% Vitamin C Serum",
        ingredients_text="Water, Ascorbic Acid, Glycerin, Phenoxyethanol",
    )
    (active,) = found["actives"]
    assert active["form"] == "L-ascorbic acid" and active["form_from"] == "ingredients"


def test_same_percentage_for_plain_and_named_form_is_one_fact():
    found = facts(
        title="22% Vitamin C Serum", description="22% Sodium Ascorbyl Phosphate (vitamin C)"
    )
    assert len([a for a in found["actives"] if a["active"] == "vitamin_c"]) == 1
    assert len(found["actives"][0]["evidence"]) == 2


def test_ingredient_list_in_the_description_highlights_nothing():
    description = "20% L-ascorbic acid, 1% vitamin E.\nIngredients: Water, Ascorbic Acid, Tocopherol, Sodium Hyaluronate"
    found = facts(description=description)
    assert "hyaluronic_acid" not in found["mentioned_actives"]
    assert breakdown("post", description=description)["active_percentages"]["status"] == "pass"


def test_offer_nearest_30ml_in_stock_is_judged():
    variants = [
        {"title": "15 ml", "price": "19.00", "currency": "USD"},
        {
            "title": "30 ml",
            "price": "29.00",
            "regular_price": "34.00",
            "currency": "USD",
            "available": 0,
        },
        {"title": "1 fl oz", "price": "31.00", "currency": "USD"},
    ]
    found = facts(variants=variants)
    assert found["price"]["variant"] == 2 and found["size"]["ml"] == pytest.approx(29.57)
    assert [o["size_ml"] for o in found["offers"]] == pytest.approx([15, 30, 29.57])
    assert found["offers"][1]["on_sale"] is True


def test_size_from_alt_text_and_description_but_not_a_dose():
    alt = facts(image_alts=["Serum in amber bottle, 1 fl oz"], variants=[{"price": "20"}])
    assert (
        alt["size"]["ml"] == pytest.approx(29.57)
        and alt["size"]["evidence"][0]["field"] == "image_alts[0]"
    )
    dose = facts(description="Apply 2 ml each evening.", variants=[{"price": "20"}])
    assert dose["size"]["kind"] == "unknown"
    pack = facts(
        description="Apply 2 ml each evening. Opaque airless pump, 30 ml.",
        variants=[{"price": "20"}],
    )
    assert pack["size"]["ml"] == 30.0


def test_price_text_without_currency_code():
    found = facts(variants=[{"title": "30 ml", "price": "$24.50"}])
    assert found["price"]["currency"] == "USD" and found["price_per_30ml"] == 24.5


@pytest.mark.parametrize("price", ["N/A", "-5", "0", "", "free"])
def test_no_real_price_means_unknown_value(price):
    result = breakdown("post", variants=[{"title": "30 ml", "price": price, "currency": "USD"}])
    assert result["price_value"]["status"] == "unknown"


def test_inci_order_bounds_and_contradiction():
    listing = {
        "description": "Supercharged with 20% Vitamin C.",
        "ingredients_text": "Aqua, Glycerin, Xanthan Gum, Phenoxyethanol, Sodium Ascorbyl Phosphate, Citric Acid",
    }
    found = facts(**listing)
    bound = found["concentration_bounds"]["vitamin_c"]
    assert bound["max"] == 1.0 and bound["after_one_percent_marker"] == "Xanthan Gum"
    assert (
        found["order_contradictions"]
        and "Xanthan Gum" in found["order_contradictions"][0]["reason"]
    )
    assert breakdown("extended", **listing)["inci_order"]["status"] == "fail"


def test_bound_from_position_without_markers():
    found = facts(ingredients_text="Water, Glycerin, Propanediol, Ascorbic Acid")
    assert (
        found["concentration_bounds"]["vitamin_c"]["max"] == 25.0
    )  # 100/4 = 25 and the use limit 25


def test_barely_more_than_water():
    listing = {"ingredients_text": "Water, Glycerin, Phenoxyethanol, Ascorbic Acid, Fragrance"}
    assert breakdown("extended", **listing)["inci_order"]["status"] == "fail"
    assert breakdown("extended", **listing)["no_fragrance"]["status"] == "fail"


def test_ph_and_dispenser_for_the_extended_rubric():
    listing = {"description": "15% L-ascorbic acid at pH 3.2, in single-dose capsules."}
    result = breakdown("extended", **listing)
    assert result["ph_stated"]["status"] == "pass" and "3.2" in result["ph_stated"]["reason"]
    assert result["air_tight_dispenser"]["status"] == "pass"


def test_laa_outside_the_window_is_partial():
    result = breakdown(
        "extended",
        description="30% L-Ascorbic Acid booster",
        ingredients_text="Ascorbic Acid, Water",
    )
    assert result["vitamin_c_form"]["status"] == "partial"
    assert "outside the 10–20% window" in result["vitamin_c_form"]["reason"]


def test_key_ingredient_bullets_above_the_list_are_highlighted():
    listing = {
        "description": "15% vitamin C",
        "ingredients_text": "-Vitamin C: brightens. -Ferulic Acid: protects.\nWater, Ascorbic Acid, Ferulic Acid",
    }
    found = facts(**listing)
    assert found["mentioned_actives"]["ferulic_acid"][0]["field"] == "ingredients_text"
    assert breakdown("post", **listing)["active_percentages"]["status"] == "partial"
    plain = facts(
        description="15% vitamin C", ingredients_text="Water, Ascorbic Acid, Ferulic Acid."
    )
    assert "ferulic_acid" not in plain["mentioned_actives"]


def test_ferulic_and_vitamin_e_from_the_ingredient_list_quote_the_list():
    inci = "Water, Ascorbic Acid, Glycerin, Tocopherol, Ferulic Acid, Phenoxyethanol"
    listing = {"title": "Vitamin C Serum", "description": "15% vitamin C", "ingredients_text": inci}
    assert "ferulic_acid" not in facts(**listing)["mentioned_actives"]
    pair = breakdown("extended", **listing)["ferulic_and_vitamin_e"]
    assert pair["status"] == "pass" and pair["points"] == pair["max_points"]
    quoted = {(e["field"], e["text"]) for e in pair["evidence"]}
    assert quoted == {("ingredients_text", "Tocopherol"), ("ingredients_text", "Ferulic Acid")}
    for e in pair["evidence"]:
        assert inci[e["start"] : e["end"]] == e["text"]


def test_vitamin_c_named_without_a_form_quotes_where_it_is_named():
    form = breakdown("extended", description="A brightening vitamin C serum.")["vitamin_c_form"]
    assert form["status"] == "partial" and form["points"] > 0
    assert form["evidence"] and form["evidence"][0]["text"].lower() == "vitamin c"


@pytest.mark.parametrize(
    "stated, per_gram",
    [
        ("15% vitamin C", 4.0),  # $18 per 30 mL / (0.3 x 15) g
        ("10–20% vitamin C", None),
        ("at least 10% vitamin C", None),
        ("up to 20% vitamin C", None),
        ("vitamin C", None),
    ],
)
def test_price_per_gram_of_vitamin_c_only_from_an_exact_percentage(stated, per_gram):
    found = facts(
        description=f"Serum with {stated}.",
        variants=[{"title": "30 ml", "price": "18.00", "currency": "USD"}],
    )
    assert found["price_per_30ml"] == 18.0
    assert found["price_per_gram_vitamin_c"] == per_gram
    reason = found["price_per_gram_vitamin_c_reason"]
    assert ("15% vitamin C" in reason) if per_gram else ("percentage" in reason)


@pytest.mark.parametrize(
    ("details", "ml"),
    [
        ("Size: 30 ml", 30.0),
        ("Size:\n30 ml", 30.0),  # a label alone on its line: the value is on the next
        ("Size: Full size\nItem weight: 3.2 oz", None),  # another line's amount is not the size
        ("Apply a pea size amount (about 0.5 ml)", None),  # a dose after a size word
        ("Size 1.7 oz/ 50 mL\u2022ITEM 1585660", 50.0),
    ],
)
def test_a_labelled_size_is_read_on_its_own_line_and_never_a_dose(details, ml):
    size = evaluate({"title": "C Serum", "details": details})["facts"]["size"]
    assert size["ml"] == ml, size


CONTRADICTED = {
    "title": "Radiant 20% Vitamin C Serum",
    "description": "20% vitamin C in an amber glass bottle.",
    "ingredients_text": "Aqua, Glycerin, Xanthan Gum, Phenoxyethanol, Sodium Ascorbyl Phosphate",
    "variants": [{"title": "30 ml", "price": "29.00", "currency": "USD"}],
}


@pytest.mark.parametrize("rubric", ["post", "extended"])
def test_a_percentage_the_inci_order_contradicts_earns_no_stated_points(rubric):
    result = evaluate(CONTRADICTED, rubric)
    criterion = {c["id"]: c for c in result["breakdown"]}["active_percentages"]
    assert criterion["status"] == "fail" and criterion["points"] == 0
    assert "contradicts" in criterion["reason"] and "Xanthan Gum" in criterion["reason"]
    assert result["verdict"] == "avoid"


@pytest.mark.parametrize("rubric", ["post", "extended"])
def test_a_failed_essential_criterion_caps_the_score_below_consider(rubric):
    rules = load_rubric(rubric)["verdict"]
    result = evaluate(CONTRADICTED, rubric)
    assert result["score"] <= rules["essential_failed_max_score"] < rules["consider"]
    assert result["verdict_reason"].startswith("failed an essential criterion")


def test_a_typical_use_limit_is_a_caution_not_a_contradiction():
    listing = {
        "description": "30% vitamin C (ascorbyl palmitate) in an amber bottle.",
        "ingredients_text": "Ascorbyl Palmitate, Squalane, Tocopherol",
    }
    found = facts(**listing)
    assert found["concentration_bounds"]["vitamin_c"]["use_limit"] == 2.0
    assert found["order_contradictions"] == []
    order = breakdown("extended", **listing)["inci_order"]
    assert order["status"] == "pass" and "typical use limit is 2%" in order["reason"]
    assert "known use limit of" not in order["reason"]


def test_pair_reason_names_vitamin_e_properly():
    reason = breakdown("extended", description="With ferulic acid and vitamin E.")[
        "ferulic_and_vitamin_e"
    ]["reason"]
    assert "vitamin E" in reason and "vitamin e" not in reason
