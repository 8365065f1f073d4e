"""Each evaluator reader on one text field, and texts built to make a careless pattern backtrack or
rescan: shared by tests/test_evaluator_linearity.py (which runs them) and bench/linearity.py (which
times them at 50k/100k/200k characters)."""

from __future__ import annotations

from collections.abc import Callable

from evaluator import evaluate
from evaluator.actives import find_mentions, percent_facts, ph_facts
from evaluator.devices import device_facts
from evaluator.inci import parse_ingredients
from evaluator.offers import read_offers, shared_size
from evaluator.packaging import packaging_facts
from evaluator.stated import read_stated


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


HOSTILE_TEXTS: dict[str, Callable[[int], str]] = {
    "no whitespace": _repeat("amberglassbottlepumpdropper"),
    "packaging words": _repeat("bottle jar pump "),
    "digits": _repeat("1"),
    "percent signs": _repeat("%"),
    "percentages": _repeat("10% "),
    "percent no space": _repeat("15%vitaminc"),
    "commas": _repeat("a,"),
    "ingredient words": _repeat("Ascorbic Acid, "),
    "vitamin c words": _repeat("vitamin c "),
    "sizes": _repeat("30 ml "),
    "size digits": _repeat("30ml1"),
    "ph": _repeat("pH 3 "),
    "brackets": _repeat("(["),
    "whitespace": _repeat(" \n\t"),
    "headings": _repeat("Ingredients:\n"),
    "dots": _repeat("1."),
    "needle lengths": _repeat("0.5mm/"),
    "length ranges": _repeat("0.2-"),
}

READERS: dict[str, Callable[[str], object]] = {
    "ingredients": lambda text: parse_ingredients({"ingredients_text": text}),
    "inci in desc": lambda text: parse_ingredients({"description": text}),
    "mentions": find_mentions,
    "percentages": lambda text: percent_facts("description", text),
    "stated": lambda text: read_stated([("description", text)], 1, text[:1000]),
    "packaging": lambda text: packaging_facts([("description", text)]),
    "size": lambda text: shared_size({"title": text[:1000], "description": text}),
    "offers": lambda text: read_offers({"variants": [{"title": text, "price": "10"}]}),
    "ph": lambda text: ph_facts([("description", text)]),
    "devices": lambda text: device_facts({"title": text[:1000], "description": text}),
    "evaluate": lambda text: evaluate(
        {"title": text, "description": text, "ingredients_text": text}
    ),
}
