"""serumscope's evaluator: judge one vitamin C serum listing against a rubric, with evidence.

Pure functions over a listing dict (docs/schema.md); rules and vocabularies are data files in ``data/``.
``evaluate`` never raises: a fact it cannot read is "unknown" with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluator.facts import read_facts
from evaluator.red_flags import red_flags
from evaluator.rubrics import scored_rubric
from evaluator.score import apply_rubric, load_rubric, rubric_rules

__all__ = ["evaluate", "evaluate_many", "load_rubric", "unless_not_a_candidate"]


def evaluate(listing: dict, rubric: str | None = None) -> dict:
    """Score ``listing`` with the rubric ``data/rubrics/<rubric>.toml`` (by default the one whose file
    says ``scored = true``).

    Returns ``{"listing_id", "rubric", "rubric_version", "score", "verdict", "verdict_reason",
    "red_flags", "breakdown", "facts"}`` (docs/evaluator.md). Raises only for an unknown rubric name.
    """
    return evaluate_many(listing, [rubric])[0]


def evaluate_many(listing: dict, rubrics: Sequence[str | None]) -> list[dict]:
    """``[evaluate(listing, rubric) for rubric in rubrics]``, with the facts read once and each
    rubric applied to them: the results share one ``facts`` dict (treat it as read-only)."""
    rules = [rubric_rules(rubric or scored_rubric()) for rubric in rubrics]
    if not isinstance(listing, dict):
        listing = {}
    listing_id = listing.get("id") if isinstance(listing.get("id"), str) else None
    failure: Exception | None = None
    try:
        facts = read_facts(listing)
    except Exception as error:  # the readers guard themselves; this is the last line of defence
        facts, failure = {}, error
    results = []
    for rubric in rules:
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
                "score": score,
                "verdict": verdict,
                "verdict_reason": why,
                "red_flags": flags,
                "breakdown": breakdown,
                "facts": rubric_facts,
            }
        )
    return results


def unless_not_a_candidate(listing: dict, result: dict) -> dict:
    """``result`` as stored and shown: a listing the relevance judgement did not make a candidate
    (``is_candidate`` is not 1) keeps its facts but gets no score, the verdict "not-scored" and the
    judgement's reason."""
    if listing.get("is_candidate") == 1:
        return result
    reason = listing.get("relevance_reason") or "not judged"
    return {
        **result,
        "score": None,
        "verdict": "not-scored",
        "verdict_reason": f"not a vitamin C serum candidate: {reason}",
        "red_flags": [],
        "breakdown": [],
    }
