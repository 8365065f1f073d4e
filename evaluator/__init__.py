"""serumscope's evaluator: judge one listing against a rubric of its category (data/categories.toml:
vitamin C serums, micro-needling devices), with evidence.

Pure functions over a listing dict (docs/schema.md); rules and vocabularies are data files in ``data/``.
``evaluate`` never raises: a fact it cannot read is "unknown" with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluator.categories import DEFAULT_CATEGORY, OTHER, category
from evaluator.red_flags import red_flags
from evaluator.rubrics import scored_rubric
from evaluator.score import apply_rubric, load_rubric, rubric_rules

__all__ = [
    "evaluate",
    "evaluate_many",
    "listing_category",
    "load_rubric",
    "unless_not_a_candidate",
]


def evaluate(listing: dict, rubric: str | None = None) -> dict:
    """Score ``listing`` with the rubric ``data/rubrics/<rubric>.toml`` (by default the one whose file
    says ``scored = true``).

    Returns ``{"listing_id", "rubric", "rubric_version", "score", "verdict", "verdict_reason",
    "category", "red_flags", "breakdown", "facts"}`` (docs/evaluator.md). Raises only for an unknown rubric name.
    """
    return evaluate_many(listing, [rubric])[0]


def evaluate_many(listing: dict, rubrics: Sequence[str | None]) -> list[dict]:
    """``[evaluate(listing, rubric) for rubric in rubrics]``, with the facts read once per category
    and each rubric of that category applied to them: its results share one ``facts`` dict (treat
    it as read-only)."""
    rules = [rubric_rules(rubric or scored_rubric()) for rubric in rubrics]
    if not isinstance(listing, dict):
        listing = {}
    listing_id = listing.get("id") if isinstance(listing.get("id"), str) else None
    # facts read once per category: every rubric of a category is applied to the same facts
    facts_of: dict[str, tuple[dict, Exception | None]] = {}
    results = []
    for rubric in rules:
        if rubric["category"] not in facts_of:
            try:
                facts_of[rubric["category"]] = (
                    category(rubric["category"]).read_facts(listing),
                    None,
                )
            except Exception as error:  # the readers guard themselves; this is the last line
                facts_of[rubric["category"]] = ({}, error)
        facts, failure = facts_of[rubric["category"]]
        try:
            if failure is not None:
                raise failure
            score, verdict, why, breakdown = apply_rubric(rubric, facts)
            flags = red_flags(rubric, facts, breakdown)
            rubric_facts = facts
        except Exception as error:
            rubric_facts = {
                "problems": [f"evaluation failed: {type(error).__name__}: {str(error)[:200]}"]
            }
            score, verdict, why, breakdown = (
                0,
                "not-scored",
                "the listing could not be evaluated",
                [],
            )
            flags = []
        results.append(
            {
                "listing_id": listing_id,
                "rubric": rubric["id"],
                "rubric_version": str(rubric["version"]),
                "category": rubric["category"],
                "score": score,
                "verdict": verdict,
                "verdict_reason": why,
                "red_flags": flags,
                "breakdown": breakdown,
                "facts": rubric_facts,
            }
        )
    return results


def listing_category(listing: dict) -> str:
    """The category the relevance judgement gave a listing dict (``category``; a listing judged before
    categories existed: a vitamin C serum when ``is_candidate`` is 1, else "other")."""
    if isinstance(listing.get("category"), str):
        return listing["category"]
    return DEFAULT_CATEGORY if listing.get("is_candidate") == 1 else OTHER


def unless_not_a_candidate(listing: dict, result: dict) -> dict:
    """``result`` as stored and shown: a listing of another category than the rubric's keeps its facts
    but gets no score, the verdict "not-scored" and the judgement's reason."""
    rubric_category = result.get("category", DEFAULT_CATEGORY)
    if listing_category(listing) == rubric_category:
        return result
    if rubric_category == DEFAULT_CATEGORY:
        reason = listing.get("relevance_reason") or "not judged"
    else:
        reason = f"its category is {listing_category(listing)}"
    return {
        **result,
        "score": None,
        "verdict": "not-scored",
        "verdict_reason": f"not a {category(rubric_category).noun} candidate: {reason}",
        "red_flags": [],
        "breakdown": [],
    }
