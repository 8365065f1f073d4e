"""The micro-needling device reader (evaluator/devices.py, evaluator/needles.py): the tuning table row
by row, the held-out table reported (bench/accuracy.py prints it) with a floor only, the awkward
lengths of issue 14 item 6, the other facts, and inputs that must never raise."""

from __future__ import annotations

from pathlib import Path

import pytest
from example_tables import DEVICE_FACTS, device_accuracy, device_cases, load_cases

from evaluator import units
from evaluator.devices import device_facts
from evaluator.text import resolve_field
from evaluator.vocab import toml_file

EXAMPLES = Path(__file__).parent / "examples"
HELD_OUT_FLOOR = 0.8  # the goal is 0.95 on each fact; bench/accuracy.py reports the figures


def _tuning_params():
    return [
        pytest.param(case, got, id=f"{i}-{case['title'][:40]}")
        for i, (case, got) in enumerate(device_cases(EXAMPLES / "devices.toml"))
    ]


def test_tables_are_big_enough():
    assert len(load_cases(EXAMPLES / "devices.toml")) >= 60
    assert len(load_cases(EXAMPLES / "heldout_devices.toml")) >= 40


@pytest.mark.parametrize(("case", "got"), _tuning_params())
def test_tuning_rows(case, got):
    expected = {fact: case[fact] for fact in DEVICE_FACTS}
    expected["needles"] = sorted(expected["needles"])
    assert got == expected


@pytest.mark.parametrize("fact", DEVICE_FACTS)
def test_held_out_floor(fact):
    right, total, wrong = device_accuracy(EXAMPLES / "heldout_devices.toml")[fact]
    assert right / total >= HELD_OUT_FLOOR, wrong


def _lengths(text: str) -> tuple[list[float], list[list[float]]]:
    found = device_facts({"title": "Derma roller", "description": text})["needle_length"]
    return found["value"], found["ranges_mm"]


@pytest.mark.parametrize(
    ("text", "fixed", "ranges"),
    [
        ("Needles 0,5 mm long", [0.5], []),
        ("0.25MM", [0.25], []),
        ("Adjustable 0.2-3.0mm", [], [[0.2, 3.0]]),
        ("0.5mm/1.0mm/1.5mm", [0.5, 1.0, 1.5], []),
        ("Needle length 0.02 inch", [0.51], []),
        ('Needle length 0.04"', [1.02], []),
        ("Face head 0.25 mm, body head 1.0 mm", [0.25, 1.0], []),
        ("0.25mm to 2.5mm", [], [[0.25, 2.5]]),
        ("0.25 / 0.5 / 1.0 mm", [0.25, 0.5, 1.0], []),
        # numbers that are not needle lengths
        ("Pack of 3, 540 needles, handle 13 cm", [], []),
        ("Comes with a 0.5 oz serum", [], []),
        ("Handle length 120mm, head width 20 mm", [], []),
        ("Needle diameter 0.25mm", [], []),
        ("2 in 1 kit, 5.5 in long", [], []),
        ("Needles 1.5 in length", [], []),
        ("Speed 8000-18000 rpm, battery 1200 mAh", [], []),
        ("Version 2.0, model 3-1", [], []),
    ],
)
def test_awkward_lengths(text, fixed, ranges):
    assert _lengths(text) == (fixed, ranges)


def test_a_length_set_aside_says_why():
    found = device_facts({"title": "Derma roller", "description": "The roller is 13 cm"})[
        "needle_length"
    ]
    assert found["status"] == "unknown"
    assert "longer than any needle" in found["reason"]
    assert found["ignored"] == [
        {"text": "13 cm", "reason": "longer than any needle (130 mm > 3 mm)"}
    ]


def test_the_other_facts():
    facts = device_facts(
        {
            "title": "Derma Roller 0.5mm for Face and Scalp",
            "description": "Replacement heads available for $8.99 each. Gamma sterilised and "
            "individually sealed. Replace after 10-15 uses. Not for the eye area.",
        }
    )
    assert facts["replaceable_heads"]["value"] is True
    assert facts["replaceable_heads"]["price"]["amount"] == "8.99"
    assert facts["replaceable_heads"]["price"]["currency"] == "USD"
    assert facts["sterile"]["value"] is True
    assert (facts["uses"]["value"], facts["uses"]["max"]) == (10, 15)
    assert facts["purpose"]["value"] == ["face", "scalp/hair"]


def test_sterilise_before_use_is_not_sterile_packaging():
    facts = device_facts({"title": "Derma roller", "description": "Sterilize it before each use."})
    assert facts["sterile"]["status"] == "unknown"
    facts = device_facts({"title": "Derma roller", "description": "Supplied non-sterile."})
    assert facts["sterile"]["value"] is False


def test_every_evidence_points_at_the_listing_words():
    listing = {
        "title": "Derma Roller 540 Titanium 0.5mm",
        "description": "Needle count: 540. Gamma sterilised. For face and body.",
        "tags": ["derma roller", "0.25mm"],
        "variants": [{"title": "1.0mm"}, {"title": "1.5 mm"}],
    }
    facts = device_facts(listing)
    assert facts["needle_length"]["value"] == [0.25, 0.5, 1.0, 1.5]
    for fact in facts.values():
        for ev in fact["evidence"]:
            assert resolve_field(listing, ev["field"])[ev["start"] : ev["end"]] == ev["text"]


def test_every_length_unit_has_a_constant_factor():
    for unit in toml_file("devices")["length"]["units"].values():
        assert unit in units.LENGTH_UNITS
        assert (unit, "millimeter") in units.FACTORS


HOSTILE_LISTINGS = [
    None,
    "derma roller",
    [],
    {},
    {"title": None, "description": 12, "tags": "x", "variants": "y"},
    {"title": 0.5, "variants": [None, 3, {"title": None}]},
    {"title": "Derma roller", "description": "mm " * 1000},
    {"title": "0" * 5000 + "mm", "description": "9" * 5000 + " needles"},
    {"title": "Derma roller 0.-mm ,.mm -mm /mm to mm 0-0mm 3-0mm 0.0.0mm 1e9mm"},
    {"title": "Roller", "description": "Needles: 99999; 0 needles; -5 needles; 00 pins"},
    {
        "title": "Derma pen 0.25\u20132.5\u00a0mm",
        "description": "\u0000\ud800 titanium\u200b needles",
    },
    {"title": "Replacement heads $", "description": "cartridges £ € 1e999 uses 0 uses"},
]


@pytest.mark.parametrize("listing", HOSTILE_LISTINGS, ids=range(len(HOSTILE_LISTINGS)))
def test_hostile_inputs_never_raise(listing):
    facts = device_facts(listing)
    for name, fact in facts.items():
        assert fact["status"] in ("found", "unknown"), name
        assert fact["reason"], name
        if fact["status"] == "unknown":
            assert fact["evidence"] == [], name
    assert facts["needle_length"]["max_mm"] is None or facts["needle_length"]["max_mm"] <= 3.0


@pytest.mark.parametrize(
    ("text", "uses"),
    [
        ("Single-use derma stamp, discard after one treatment.", 1),
        ("Pen with 12 sterile single-use cartridges.", None),  # the cartridges are used once
        ("Disposable needle cartridges, 5 pack.", None),
    ],
)
def test_single_use_is_the_devices_not_its_cartridges(text, uses):
    facts = device_facts({"title": "Microneedling device", "description": text})
    assert facts["uses"]["value"] == uses
