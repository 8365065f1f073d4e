"""evaluate() never raises and always returns output valid against the documented schema, with every
evidence span pointing at the exact words it quotes."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator import evaluate, load_rubric
from evaluator.schema import problems

WORDS = [
    "vitamin C", "20%", "Vitamin C (15%)", "ferulic acid 0.5%", "amber glass bottle", "clear bottle",
    "airless pump", "dark spot", "100% vegan", "20% off", "SPF 30", "1 fl oz", "30ml", "0 ml",
    "2 x 15 ml", "Ingredients:", "Water (Aqua)", "Ascorbic Acid", "Phenoxyethanol", "may contain",
    "<div>", "</p>", "<br/>", "N/A", "-5", "$", "€", "£12,50", "💧✨", "ビタミンC", "維他命C", "فيتامين",
    "Vitamina C 10%", "pH 3.5", "(", ")", "[", "]", ",", ";", "•", "\n", "\u0000", "\ufffd", "mg/ml",
    "up to", "10–20%", "Sodium Ascorbyl Phosphate", "HA", "SAP", "Tocopherol", "1e309", "NaN",
]  # fmt: skip

soup = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=30)), max_size=40).map(" ".join)
maybe_text = st.one_of(st.none(), soup, st.integers(), st.floats(allow_nan=True), st.booleans())
price = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "29.00",
            "N/A",
            "-5",
            "0",
            "0.00",
            "1e9",
            "99999999999",
            "$24.50",
            "24,50 €",
            "",
            "NaN",
            "inf",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
variant = st.fixed_dictionaries(
    {},
    optional={
        "title": maybe_text,
        "size_text": maybe_text,
        "price": price,
        "regular_price": price,
        "currency": st.one_of(st.none(), st.sampled_from(["USD", "GBP", "EUR", "XXX", "", "usd"])),
        "available": st.one_of(st.none(), st.integers(0, 1)),
    },
)
listing = st.fixed_dictionaries(
    {"title": maybe_text},
    optional={
        "id": st.one_of(st.none(), st.text(max_size=20)),
        "description": maybe_text,
        "ingredients_text": maybe_text,
        "image_alts": st.one_of(st.none(), st.lists(maybe_text, max_size=4), soup),
        "tags": st.one_of(st.none(), st.lists(maybe_text, max_size=4)),
        "categories": st.one_of(st.none(), st.lists(maybe_text, max_size=3)),
        "variants": st.one_of(st.none(), st.lists(variant, max_size=4), soup),
        "is_candidate": st.one_of(st.none(), st.integers(0, 1)),
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listing, st.sampled_from(["post", "extended"]))
def test_random_listings_give_valid_output(data, rubric):
    result = evaluate(data, rubric)
    assert problems(result, data) == []
    assert result["verdict"] in ("recommend", "consider", "avoid")
    assert result["facts"]["problems"] == []
    if result["facts"]["order_contradictions"]:
        assert result["verdict"] != "recommend"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"title": ""},
        {"title": None, "variants": "not a list"},
        {"title": "<html><body><div><p>" * 2000},
        {"title": "Vitamin C 20% " * 70_000, "description": "amber glass bottle, " * 50_000},
        {"title": "💧✨ ビタミンC 美容液 20% ✨", "description": "维生素C精华 15%"},
        {"title": "C serum", "variants": [{"price": "N/A"}, {"price": "-5"}, {"price": "1e400"}]},
        {"title": "C serum", "variants": [{"title": "0 ml", "price": "10.00", "currency": "USD"}]},
        {"title": "C serum", "variants": [{"title": "99999999 ml", "price": "99999999999"}]},
        {"title": "C serum", "ingredients_text": "(" * 5000 + "Water, Ascorbic Acid"},
        {"title": "C serum", "ingredients_text": ",,,,;;;;••••" * 1000},
        {
            "title": "C serum",
            "description": "1234567890" * 20_000,
            "ingredients_text": "1234567890" * 20_000,
        },
        {"title": "C serum", "ingredients_text": "citrus " * 30_000, "description": "1% " * 60_000},
        {
            "title": "C serum",
            "ingredients_text": "a" + " " * 100_000 + "b, c, d",
            "variants": [{"title": "2 x " * 9_000}],
        },
    ],
    ids=[
        "empty",
        "blank",
        "bad-variants",
        "html-soup",
        "1MB",
        "emoji-mixed",
        "bad-prices",
        "0ml",
        "absurd",
        "parens",
        "separators",
        "digits",
        "repeats",
        "whitespace",
    ],
)
def test_strange_listings(data):
    result = evaluate(data)
    assert problems(result, data) == []
    assert result["facts"]["problems"] == []


def test_not_a_dict_still_gives_a_result():
    result = evaluate(["not", "a", "listing"])  # type: ignore[arg-type]
    assert problems(result) == []
    assert result["verdict"] == "avoid"


def test_zero_ml_is_unknown_and_gives_no_price_per_30ml():
    result = evaluate(
        {
            "title": "C serum 0 ml",
            "variants": [{"title": "0 ml", "price": "12.00", "currency": "USD"}],
        }
    )
    assert result["facts"]["size"]["kind"] == "unknown"
    assert "not a size" in result["facts"]["size"]["reason"]
    assert result["facts"]["price_per_30ml"] is None


def test_non_usd_price_is_converted_and_marked():
    result = evaluate(
        {"title": "C serum", "variants": [{"title": "30 ml", "price": "20.00", "currency": "GBP"}]}
    )
    price = result["facts"]["price"]
    assert price["converted"] is True and price["rate_date"]
    assert price["usd"] == pytest.approx(20 * 1.27)


def test_listed_price_stays_exact_and_conversion_is_decimal():
    listing = {
        "title": "C serum",
        "variants": [
            {"title": "30 ml", "price": "2.50", "regular_price": "19.90", "currency": "GBP"}
        ],
    }
    result = evaluate(listing)
    price = result["facts"]["price"]
    assert price["amount_text"] == "2.50" and price["regular_amount_text"] == "19.90"
    assert price["amount"] == 2.5 and price["on_sale"] is True
    # 2.50 x 1.27 is exactly 3.175: decimal arithmetic rounds it up; binary floats gave 3.17
    assert price["usd"] == 3.18 and "about 3.18 USD" in price["reason"]
    assert result["facts"]["offers"][0]["amount_text"] == "2.50"
    assert problems(result, listing) == []


def test_every_breakdown_reason_is_filled_in():
    result = evaluate(
        {
            "title": "20% Vitamin C serum in an amber glass bottle, 30 ml",
            "variants": [{"price": "30"}],
        }
    )
    for criterion in result["breakdown"]:
        assert "?" not in criterion["reason"] or criterion["status"] == "unknown", criterion


def test_output_round_trips_through_json():
    result = evaluate(
        {"title": "Vitamin C (15%) serum", "variants": [{"title": "1 fl oz", "price": "25.00"}]}
    )
    assert json.loads(json.dumps(result)) == result


def test_a_was_price_beyond_any_real_price_is_no_sale_and_no_infinity():
    listing = {"title": "Vitamin C serum 30 ml",
               "variants": [{"price": "24.00", "regular_price": "1e999", "currency": "USD"}]}  # fmt: skip
    result = evaluate(listing)
    json.dumps(result, allow_nan=False)
    assert result["facts"]["price"]["on_sale"] is False


@pytest.mark.parametrize("name", ["post", "extended"])
def test_rubric_files_describe_themselves(name):
    rubric = load_rubric(name)
    assert rubric["id"] == name and rubric["version"] and rubric["title"] and rubric["description"]
    assert rubric["verdict"]["recommend"] > rubric["verdict"]["consider"]
    for criterion in rubric["criteria"]:
        assert (
            criterion["id"]
            and criterion["title"]
            and criterion["why"]
            and criterion["max_points"] > 0
        )


def test_unknown_rubric_is_a_clear_error():
    with pytest.raises(ValueError, match="no rubric named"):
        evaluate({"title": "x"}, "nonexistent")


def test_points_without_evidence_are_a_schema_problem():
    listing = {"title": "Vitamin C serum in an amber glass bottle", "variants": []}
    result = evaluate(listing, "post")
    assert problems(result, listing) == []
    light = next(c for c in result["breakdown"] if c["id"] == "light_protection")
    assert light["status"] == "pass" and light["evidence"]
    light["evidence"] = []
    assert problems(result, listing) == ["criterion light_protection: pass without evidence"]
    light["status"] = "unknown"
    light["points"] = 0
    assert problems(result, listing) == []


@pytest.mark.parametrize(
    ("verdict", "score"), [("avoid", 60), ("consider", 49), ("consider", 75), ("recommend", 74)]
)
def test_a_score_outside_its_verdicts_range_is_a_schema_problem(verdict, score):
    result = {**evaluate({"title": "C serum"}, "post"), "verdict": verdict, "score": score}
    assert any("outside" in problem for problem in problems(result))
