"""One evaluation of a product's formula, and each offer scored at its own price (issue 15).

The listings of one product sell one formula, so the checks that read the formula (light protection,
stated percentages, the ingredient order...) are evaluated once for the product: the evaluation of
one of its listings, the "formula listing". The checks that read the price are evaluated again for
each offer, with that offer's own price per 30 mL, by the evaluator's own rubric
(``evaluator.score.apply_rubric``), so an offer's score and verdict are what the listing would
score at that price.

The formula listing is, when in doubt, the doubtful one: a listing whose evaluation found a
contradiction (a stated percentage the ingredient order contradicts) first, then the one earning the
most formula points (a fact one shop states holds for the product), then the oldest id.
"""

from __future__ import annotations

from typing import Any

from evaluator.score import apply_rubric, rubric_rules

PRICE_CHECKS = frozenset({"price_per_30ml"})  # rubric checks that read the offer's price


def price_criteria(rubric: str) -> frozenset[str]:
    """Ids of the rubric's criteria that read the price (evaluated per offer)."""
    criteria = rubric_rules(rubric)["criteria"]
    return frozenset(c["id"] for c in criteria if c["check"] in PRICE_CHECKS)


def formula_checks(breakdown: list[dict], price_ids: frozenset[str]) -> list[dict]:
    return [check for check in breakdown if check.get("id") not in price_ids]


def formula_listing(breakdowns: dict[str, list[dict]], price_ids: frozenset[str]) -> str:
    """The listing whose evaluation stands for the product's formula (see the module docstring)."""

    def rank(listing_id: str) -> tuple:
        checks = formula_checks(breakdowns[listing_id], price_ids)
        doubt = any(check.get("status") == "contradicted" for check in checks)
        return (not doubt, -sum(check.get("points") or 0 for check in checks), listing_id)

    return min(breakdowns, key=rank)


def offer_evaluation(rubric: str, facts: dict, offer: dict[str, Any]) -> dict[str, Any]:
    """The formula listing's facts with this offer's price and size in place of its own, scored by
    the rubric: {offer_score, offer_verdict, price_check (the reason), price_points}."""
    size = offer.get("size_ml")
    price_text = " ".join(str(p) for p in (offer.get("price"), offer.get("currency")) if p)
    priced = {
        **facts,
        "price_per_30ml": offer.get("price_per_30ml"),
        "price": {
            **(facts.get("price") or {}),
            "usd": offer.get("price_usd"),
            "reason": price_text or "no price",
            "evidence": [],
        },
        "size": {
            **(facts.get("size") or {}),
            "reason": f"{size:g} mL" if isinstance(size, int | float) else "size unknown",
            "evidence": [],
        },
    }
    score, verdict, _, breakdown = apply_rubric(rubric_rules(rubric), priced)
    price_ids = price_criteria(rubric)
    checks = [check for check in breakdown if check["id"] in price_ids]
    return {
        "offer_score": score,
        "offer_verdict": verdict,
        "price_check": " ".join(check["reason"] for check in checks) or None,
        "price_points": sum(check["points"] for check in checks) if checks else None,
    }
