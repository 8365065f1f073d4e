"""What an INCI list's order says about how much of an active there can be.

Ingredients above 1% are listed in descending order; below 1% in any order. So an active at position
p is at most 100/p %, and anything listed after a typical <= 1% ingredient (a preservative, fragrance,
a gum) is at most 1%. These are bounds, never a single guess. A known typical-use limit is kept beside
the bound (``use_limit``) as a caution: products may exceed it, so it never contradicts a claim.
"""

from __future__ import annotations


def _bound(item: dict, active: str, marker: dict | None, water_first: bool) -> dict:
    ingredient = item["ingredient"]
    position = item["position"]
    upper = round(100 / position, 2)
    basis = f"listed at position {position} (at most 100/{position}%)"
    if marker is not None:
        upper, basis = 1.0, f"listed after {marker['raw']!r}, a typically <= 1% ingredient"
    use_limit = float(ingredient.max_percent) if ingredient.max_percent is not None else None
    return {
        "active": active,
        "ingredient": ingredient.canonical,
        "position": position,
        "min": 0.0,
        "max": upper,
        "basis": basis,
        "use_limit": use_limit,
        "after_one_percent_marker": marker["raw"] if marker else None,
        "water_first": water_first,
    }


def all_bounds(
    items: list[dict], actives: tuple[str, ...], among: list[dict] | None = None
) -> dict[str, dict]:
    """Upper bound (and its basis) for the first listed ingredient of each active group in
    ``actives`` that the list contains, in one pass over the list (or over ``among``: the items,
    in order, that hold every active and <= 1% marker of it)."""
    found: dict[str, dict] = {}
    marker = None
    water_first = bool(items) and items[0]["canonical"] == "water"
    for item in items if among is None else among:
        ingredient = item.get("ingredient")
        if ingredient is None or item["may_contain"]:
            continue
        active = ingredient.active
        if active in actives and active not in found:
            found[active] = _bound(item, active, marker, water_first)
        if ingredient.at_most_one_percent and marker is None:
            marker = item
    return {active: found[active] for active in actives if active in found}


def stated_vs_order(stated: float | None, bound: dict | None) -> str | None:
    """Why a stated percentage contradicts the list order, or None when it does not."""
    if stated is None or bound is None:
        return None
    marker = bound["after_one_percent_marker"]
    if marker and stated > 1:
        return f"{stated:g}% is stated but {bound['ingredient']} is listed after {marker!r}, which is used at <= 1%"
    position_limit = 100 / bound["position"]
    if stated > position_limit + 1e-9:
        return f"{stated:g}% is stated but at position {bound['position']} it can be at most {position_limit:.3g}%"
    return None
