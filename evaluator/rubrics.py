"""Which rubric the site shows for each category, and its price bands, read from the rubric files
(data/rubrics/)."""

from __future__ import annotations

from functools import cache

from evaluator.categories import DEFAULT_CATEGORY, categories, category
from evaluator.score import rubric_rules
from evaluator.vocab import RUBRIC_DIR, read_toml


@cache
def scored_rubric(category_id: str = DEFAULT_CATEGORY) -> str:
    """The rubric of ``category_id`` whose file says ``scored = true``: the one ``scores`` and the site
    show for that category, and the default of ``serumscope evaluate`` and ``serumscope score``."""
    names = [
        name
        for name in category(category_id).rubrics
        if read_toml(RUBRIC_DIR / f"{name}.toml").get("scored")
    ]
    if len(names) != 1:
        raise ValueError(
            f"exactly one {category_id} rubric in {RUBRIC_DIR} must say scored = true, not {names}"
        )
    return names[0]


def scored_rubrics() -> dict[str, str]:
    """{category id: its scored rubric} for every category, in the order of data/categories.toml."""
    return {c.id: scored_rubric(c.id) for c in categories()}


def price_bands(rubric: str) -> list[tuple[float, str]]:
    """(up to USD per 30 mL, label) of the rubric's price-per-30-mL criterion, cheapest first."""
    for criterion in rubric_rules(rubric)["criteria"]:
        if criterion["check"] == "price_per_30ml":
            return sorted((band["up_to"], band["label"]) for band in criterion["bands"])
    return []
