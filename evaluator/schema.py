"""The evaluation output schema (docs/evaluator.md), as a checker: ``problems(result, listing)``."""

from __future__ import annotations

import json
from collections.abc import Iterator

from evaluator.red_flags import FLAGS
from evaluator.score import rubric_rules
from evaluator.text import resolve_field

TOP_KEYS = {
    "listing_id": (str, type(None)),
    "rubric": str,
    "rubric_version": str,
    "score": int,
    "verdict": str,
    "verdict_reason": str,
    "red_flags": list,
    "breakdown": list,
    "facts": dict,
}
CRITERION_KEYS = {
    "id": str,
    "title": str,
    "status": str,
    "points": int,
    "max_points": int,
    "reason": str,
    "evidence": list,
}
VERDICTS = {"recommend", "consider", "avoid", "not-scored"}
STATUSES = {"pass", "partial", "fail", "unknown"}
FACT_KEYS = (
    "ingredients", "vitamin_c", "actives", "mentioned_actives", "light", "dispenser", "size", "price",
    "price_per_30ml", "price_per_gram_vitamin_c", "concentration_bounds", "order_contradictions",
    "fragrance", "ph", "problems",
)  # fmt: skip


def _evidence_items(value: object) -> Iterator[dict]:
    """Every evidence dict anywhere inside ``value``."""
    if isinstance(value, dict):
        if set(value) >= {"field", "text", "start", "end"} and isinstance(value.get("field"), str):
            yield value
        for item in value.values():
            yield from _evidence_items(item)
    elif isinstance(value, list):
        for item in value:
            yield from _evidence_items(item)


def problems(result: dict, listing: dict | None = None) -> list[str]:
    """What is wrong with an evaluation result; [] when it follows the documented schema.

    With ``listing``, every evidence span is also checked to be exactly ``listing[field][start:end]``.
    """
    found = []
    for key, kind in TOP_KEYS.items():
        if key not in result:
            found.append(f"missing key {key}")
        elif not isinstance(result[key], kind) or isinstance(result[key], bool):
            found.append(f"{key} has type {type(result[key]).__name__}")
    if found:
        return found
    if not 0 <= result["score"] <= 100:
        found.append(f"score {result['score']} outside 0-100")
    if result["verdict"] not in VERDICTS:
        found.append(f"verdict {result['verdict']!r}")
    for criterion in result["breakdown"]:
        for key, kind in CRITERION_KEYS.items():
            if not isinstance(criterion.get(key), kind):
                found.append(f"criterion {criterion.get('id')}: {key} missing or wrong type")
        if criterion.get("status") not in STATUSES:
            found.append(f"criterion {criterion.get('id')}: status {criterion.get('status')!r}")
        if isinstance(criterion.get("points"), int) and not 0 <= criterion[
            "points"
        ] <= criterion.get("max_points", 0):
            found.append(f"criterion {criterion.get('id')}: points outside 0..max_points")
        if criterion.get("status") in {"pass", "partial"} and not criterion.get("evidence"):
            found.append(f"criterion {criterion.get('id')}: {criterion['status']} without evidence")
    for flag in result["red_flags"]:
        if not isinstance(flag, dict) or flag.get("flag") not in FLAGS:
            found.append(f"red flag {flag!r} is not one of {sorted(FLAGS)}")
        elif flag.get("label") != FLAGS[flag["flag"]] or not isinstance(flag.get("detail"), str):
            found.append(f"red flag {flag['flag']}: label or detail wrong")
    found.extend(_verdict_disagrees(result))
    if result["verdict"] != "not-scored":
        missing = [k for k in FACT_KEYS if k not in result["facts"]]
        if missing:
            found.append(f"facts missing {missing}")
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as error:
        found.append(f"not JSON-serialisable: {error}")
    if listing is not None:
        for item in _evidence_items(result):
            text = resolve_field(listing, item["field"])
            if not isinstance(item.get("start"), int) or not isinstance(item.get("end"), int):
                found.append(f"evidence {item!r}: start/end not integers")
            elif text is None or text[item["start"] : item["end"]] != item["text"]:
                found.append(
                    f"evidence {item['field']}[{item['start']}:{item['end']}] != {item['text']!r}"
                )
    return found


def _verdict_disagrees(result: dict) -> list[str]:
    """The verdict's score range under its rubric: recommend at or above the recommend line, consider
    between the lines, avoid below the consider line (so scores are monotonic in verdict)."""
    try:
        lines = rubric_rules(result["rubric"])["verdict"]
    except (ValueError, KeyError):
        return []
    score, verdict = result["score"], result["verdict"]
    ranges = {
        "recommend": (lines["recommend"], 100),
        "consider": (lines["consider"], lines["recommend"] - 1),
        "avoid": (0, lines["consider"] - 1),
    }
    low, high = ranges.get(verdict, (0, 100))
    if not low <= score <= high:
        return [f"{verdict} with score {score}, outside {low}-{high}"]
    return []
