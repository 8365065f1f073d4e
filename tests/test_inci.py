"""INCI lists on bad input: read as far as it goes, never raise, and every item points back at its
text. (Example rows for real shop styles are in tests/examples/inci.toml and heldout_inci.toml.)"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.inci import find_list, parse_ingredients
from evaluator.inci_names import MAX_NAME_CHARS, canonicalise

NAMES = ["Water", "Glycerin", "Ascorbic Acid", "3-0-Ethyl Ascorbic Acid", "Eau", "Glycérine"]
FRAGMENTS = [
    *NAMES, ", ", "- ", " - ", "•", "|", ";", "\n", ". ", ":", "(", ")", "[", "]", "<b>", "</b>",
    "<br/>", "<div class='x'>", "&nbsp;", "&amp;", "['", "', '", "']", "May contain", "(+/-)",
    "Ingredients:", "Inactive:", "Clean at Sephora products are formulated without:", "*", "水",
    "グリセリン", "\u00a0", "\\n", "15%", "Serum:", "-Vitamin C: brightens", "de", "Acide",
]  # fmt: skip


def _spans_point_back(result: dict, text: str) -> None:
    for position, item in enumerate(result["items"], 1):
        assert item["position"] == position
        assert item["raw"] == text[item["start"] : item["end"]]
        assert item["raw"].strip()
    for found in result["evidence"]:
        assert found["text"] == text[found["start"] : found["end"]]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=60).map("".join))
def test_any_text_is_read_without_raising_and_items_point_back(text):
    result = parse_ingredients({"ingredients_text": text})
    assert result["status"] in ("found", "unknown")
    _spans_point_back(result, text)
    for _start, _end, items in find_list(text):
        assert all(_start <= s < e <= _end for s, e in items)


def _names(count: int) -> str:
    return ", ".join(f"{NAMES[i % len(NAMES)]} {i}" for i in range(count))


BAD_INPUT = {
    "500 names": ", ".join(["Water", "Ascorbic Acid", *(f"Peptide-{i}" for i in range(498))]),
    "1 MB of text after the list": "Water, Ascorbic Acid, Glycerin. " + "lorem ipsum " * 90_000,
    "1 MB list": _names(60_000),
    "long list": _names(50_000),
    "no whitespace": "amberglassbottlepumpdropper" * 8_000,
    "commas only": "," * 200_000,
    "brackets": "([" * 100_000,
    "many may-contain markers": "Water, Glycerin, Ascorbic Acid. " + "May contain: CI 77491, " * 9_000,
    "many headings": "Serum:\nWater, Glycerin, Ascorbic Acid\n" * 5_000,
    "unclosed tag": "Water, Glycerin, Ascorbic Acid <div class='" + "x" * 200_000,
    "markup in odd places": "<p>Wa<b>t</b>er,</p> Glyc<i>er</i>in, <span>Ascorbic</span> Acid</li>",
    "mixed languages": "Aqua/Water/Eau, 水, グリセリン, Acide Ascorbique, Glycérine, Wasser",
    "residue without an end": "['Water, Glycerin', 'Ascorbic Acid" * 5_000,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_is_read_as_far_as_it_goes(name):
    text = BAD_INPUT[name]
    result = parse_ingredients({"ingredients_text": text})
    _spans_point_back(result, text)
    assert all(len(item["raw"]) <= MAX_NAME_CHARS for item in result["items"])
    if result["status"] == "unknown":
        assert result["reason"]


@pytest.mark.parametrize("name", ["1 MB of text after the list", "unclosed tag"])
def test_text_after_a_list_ends_it(name):
    result = parse_ingredients({"ingredients_text": BAD_INPUT[name]})
    assert len(result["items"]) == 3
    assert all(i["known"] for i in result["items"])


def test_no_whitespace_is_no_list():
    assert (
        parse_ingredients({"ingredients_text": BAD_INPUT["no whitespace"]})["status"] == "unknown"
    )


def test_long_lists_are_read_to_the_end():
    result = parse_ingredients({"ingredients_text": BAD_INPUT["500 names"]})
    assert len(result["items"]) == 500
    assert result["items"][-1]["canonical"] == "peptide-497"
    assert parse_ingredients({"ingredients_text": BAD_INPUT["long list"]})["items"][-1][
        "raw"
    ].endswith(" 49999")


def test_markup_inside_names_and_other_languages():
    odd = parse_ingredients({"ingredients_text": BAD_INPUT["markup in odd places"]})
    assert [i["canonical"] for i in odd["items"]] == ["water", "glycerin", "ascorbic acid"]
    mixed = parse_ingredients({"ingredients_text": BAD_INPUT["mixed languages"]})
    assert [i["known"] for i in mixed["items"]] == [True, False, False, True, True, True]
    assert mixed["items"][3]["ingredient"].vitamin_c_form == "L-ascorbic acid"


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("3-0-Ethyl Ascorbic Acid", "3-O-ethyl ascorbic acid"),
        ("2-O-Ethyl Ascorbic Acid", "3-O-ethyl ascorbic acid"),
        ("Ethylascorbic Acid", "3-O-ethyl ascorbic acid"),
        ("Ethyl Ascorbic Acid (and) Water", "3-O-ethyl ascorbic acid"),
        ("Ascorbyl Tetraisopalmitate", "tetrahexyldecyl ascorbate"),
        ("Ascorbyl Tocopheryl Phosphate", "ascorbyl tocopheryl phosphate"),
        ("Ascorbate de Sodium", "sodium ascorbate"),
        ("Terminalia Ferdinandiana (Kakadu Plum) Fruit Extract", None),
        ("Malpighia Emarginata (Acerola) Fruit Extract (Vitamin C)", None),
        ("Myrciaria Dubia Fruit Extract (Ascorbic Acid)", None),
        ("Ascorbate", None),
        ("L-Ascorbic Acid 2-Glucoside", "ascorbyl glucoside"),
        ("Ascorbic Acid Sodium Salt", "sodium ascorbate"),
        ("Acerola Ascorbic Concentrate", None),
        ("Ascorbate Oxidase", None),
        ("Ascorbyl Palmitate Tocopherol", "ascorbyl palmitate"),
    ],
)
def test_vitamin_c_forms_and_what_is_not_one(name, form):
    found = canonicalise(name)
    assert (found.vitamin_c_form if found else None) == form


def test_boilerplate_list_and_kit_second_list_are_not_the_product_list():
    text = (
        "Water, Ascorbic Acid, Glycerin. Clean at our shop products are formulated without: "
        "Parabens, Sulfates, Phthalates, Mineral Oil, Talc, Oxybenzone, Coal Tar"
    )
    assert [i["canonical"] for i in parse_ingredients({"ingredients_text": text})["items"]] == [
        "water",
        "ascorbic acid",
        "glycerin",
    ]
    kit = "Serum: Water, Ascorbic Acid, Glycerin\nCream: Water, Squalane, Shea Butter, Dimethicone"
    assert len(parse_ingredients({"ingredients_text": kit})["items"]) == 3
