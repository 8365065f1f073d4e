"""The red flags a shopper should see before the score: each one a fact of the evaluation, in words.

A flag is ``{"flag", "label", "detail"}``: ``flag`` a stable id (FLAGS), ``label`` the same short text
for every listing (the site lists and facets these), ``detail`` this listing's own words for it.
"""

from __future__ import annotations

FLAGS: dict[str, str] = {
    "essential_failed": "Fails an essential criterion",
    "contradicted_percentage": "Stated percentage contradicted by its own ingredient order",
    "clear_packaging": "Clear packaging",
    "price_far_off": "Price far off",
    "no_ingredient_list": "No ingredient list",
    "professional_needle_length": "Needles longer than home use allows",
}


def _flag(flag: str, detail: str) -> dict:
    return {"flag": flag, "label": FLAGS[flag], "detail": detail}


def red_flags(rubric: dict, facts: dict, breakdown: list[dict]) -> list[dict]:
    """The red flags of one evaluation, in the order of FLAGS."""
    checks = {c["id"]: c["check"] for c in rubric["criteria"]}
    critical = {c["id"] for c in rubric["criteria"] if c.get("critical")}
    found = [
        _flag("essential_failed", f"{c['title']}: {c['reason']}")
        for c in breakdown
        if c["id"] in critical and c["status"] == "fail"
    ]
    found += [
        _flag("contradicted_percentage", contradiction["reason"])
        for contradiction in facts.get("order_contradictions", [])[:3]
    ]
    light = facts.get("light") or {}
    if light.get("value") == "clear":
        words = ", ".join(repr(e["text"]) for e in light.get("evidence", [])[:3])
        found.append(_flag("clear_packaging", f"the listing names clear packaging: {words}"))
    found += [
        _flag("price_far_off", c["reason"])
        for c in breakdown
        if checks.get(c["id"]) == "price_per_30ml" and c["status"] == "fail"
    ]
    found += [
        _flag("professional_needle_length", c["reason"])
        for c in breakdown
        if checks.get(c["id"]) == "needle_length" and c["status"] in ("fail", "partial")
    ]
    if "ingredients" in facts and facts["ingredients"].get("status") != "found":
        found.append(_flag("no_ingredient_list", "the listing gives no ingredient list to check"))
    return found
