"""Check the parsers against example tables (tests/examples/*.toml): raw text -> expected finding.

Shared by the parametrised tests and ``bench/accuracy.py`` (which prints held-out accuracy); a test
helper, so it lives in tests/ and not in the evaluator package.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from evaluator.actives import percent_facts
from evaluator.devices import device_facts
from evaluator.inci import parse_ingredients
from evaluator.packaging import packaging_facts
from evaluator.size import size_facts


def load_cases(path: Path) -> list[dict]:
    with path.open("rb") as handle:
        return tomllib.load(handle)["case"]


def _percent_label(item: dict) -> str:
    if item["kind"] in ("exact", "mg_per_ml"):
        return f"{item['active']} {item['percent']:g}"
    if item["kind"] == "range":
        return f"{item['active']} {item['percent_min']:g}-{item['percent_max']:g}"
    if item["kind"] == "up_to":
        return f"{item['active']} <={item['percent_max']:g}"
    return f"{item['active']} >={item['percent_min']:g}"


def percentages(case: dict) -> tuple[object, object]:
    found = percent_facts("text", case["text"])["bound"]
    return sorted(case["expect"]), sorted(_percent_label(item) for item in found)


def packaging(case: dict) -> tuple[object, object]:
    facts = packaging_facts([("text", case["text"])])
    return (case["light"], case["dispenser"]), (
        facts["light"]["value"],
        facts["dispenser"]["value"],
    )


def sizes(case: dict) -> tuple[object, object]:
    facts = size_facts([("text", case["text"])] if case["text"] else [])
    expected = case.get("ml", case.get("kind"))
    got = round(facts["ml"], 2) if facts["ml"] is not None else facts["kind"]
    return expected, got


def inci(case: dict) -> tuple[object, object]:
    field = case.get("field", "ingredients_text")
    parsed = parse_ingredients({field: case["text"]})
    if parsed["items"] and parsed["field"] != field:
        return (case["count"],), ("read from", parsed["field"])
    items = parsed["items"]
    got_checks = []
    for check in case["checks"]:
        position = int(check.split("=", 1)[0])
        canonical = items[position - 1]["canonical"] if position <= len(items) else None
        got_checks.append(f"{position}={canonical}")
    forms = []
    for item in items:
        ingredient = item.get("ingredient")
        form = ingredient.vitamin_c_form if ingredient else None
        if form and form != "unspecified" and form not in forms:
            forms.append(form)
    expected = (case["count"], case["checks"], sorted(case["forms"]))
    return expected, (len(items), got_checks, sorted(forms))


CHECKERS = {"percentages": percentages, "packaging": packaging, "sizes": sizes, "inci": inci}


def accuracy(kind: str, path: Path) -> tuple[int, int, list[tuple[str, object, object]]]:
    """(right, total, wrong cases as (text, expected, got)) for one table."""
    right, wrong = 0, []
    cases = load_cases(path)
    for case in cases:
        expected, got = CHECKERS[kind](case)
        if expected == got:
            right += 1
        else:
            wrong.append((case["text"], expected, got))
    return right, len(cases), wrong


def _length_label(low: float, high: float | None = None) -> str:
    return f"{low:g}" if high is None else f"{low:g}-{high:g}"


def device_listing(case: dict) -> dict:
    listing = {"title": case["title"], "description": case.get("text", "")}
    if case.get("variants"):
        listing["variants"] = [{"title": title} for title in case["variants"]]
    return listing


def device_labels(facts: dict) -> dict[str, object]:
    lengths = facts["needle_length"]
    return {
        "type": facts["device_type"]["value"] or "unknown",
        "lengths": sorted(
            [_length_label(mm) for mm in lengths["value"]]
            + [_length_label(*span) for span in lengths["ranges_mm"]],
            key=lambda label: [float(part) for part in label.split("-")],
        ),
        "material": facts["needle_material"]["value"] or "unknown",
        "needles": facts["needle_count"]["value"],
    }


DEVICE_FACTS = ("type", "lengths", "material", "needles")


def device_cases(path: Path) -> list[tuple[dict, dict[str, object]]]:
    """Each case of a device table with what the reader finds for it (DEVICE_FACTS)."""
    return [(case, device_labels(device_facts(device_listing(case)))) for case in load_cases(path)]


def device_accuracy(path: Path) -> dict[str, tuple[int, int, list[tuple[str, object, object]]]]:
    """Per device fact: (right, total, wrong cases as (title, expected, got))."""
    results = {fact: [0, 0, []] for fact in DEVICE_FACTS}
    for case, got in device_cases(path):
        for fact in DEVICE_FACTS:
            expected = case[fact] if fact != "needles" else sorted(case[fact])
            results[fact][1] += 1
            if expected == got[fact]:
                results[fact][0] += 1
            else:
                results[fact][2].append((case["title"], expected, got[fact]))
    return {fact: (right, total, wrong) for fact, (right, total, wrong) in results.items()}
