"""Which rubric the site shows, and its price bands, read from the rubric files (data/rubrics/)."""

from __future__ import annotations

from functools import cache

from evaluator.score import rubric_rules
from evaluator.vocab import RUBRIC_DIR, read_toml


@cache
def scored_rubric() -> str:
    """The rubric whose file says ``scored = true``: the one ``scores`` and the site show, and the
    default of ``serumscope evaluate`` and ``serumscope score``."""
    names = [
        path.stem for path in sorted(RUBRIC_DIR.glob("*.toml")) if read_toml(path).get("scored")
    ]
    if len(names) != 1:
        raise ValueError(f"exactly one rubric in {RUBRIC_DIR} must say scored = true, not {names}")
    return names[0]


def price_bands(rubric: str) -> list[tuple[float, str]]:
    """(up to USD per 30 mL, label) of the rubric's price-per-30-mL criterion, cheapest first."""
    for criterion in rubric_rules(rubric)["criteria"]:
        if criterion["check"] == "price_per_30ml":
            return sorted((band["up_to"], band["label"]) for band in criterion["bands"])
    return []
