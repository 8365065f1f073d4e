"""The checks of the devices rubric (data/rubrics/devices.toml), one per criterion kind, over the facts
of evaluator/device_listing.py. Like the serum checks (evaluator/score.py) each returns (status, share
of the points, reason fields, evidence); the rubric file decides what a criterion is worth."""

from __future__ import annotations

from collections.abc import Callable

from evaluator.device_listing import stated_lengths
from evaluator.score import Outcome


def _words(fact: dict, limit: int = 3) -> str:
    return ", ".join(repr(e["text"]) for e in fact.get("evidence", [])[:limit])


def _mm(values: list[float]) -> str:
    return ", ".join(f"{v:g} mm" for v in values)


def chart_row(chart: list[dict], length_mm: float) -> dict | None:
    """The row of the post's needle length chart a length falls in (its purpose and frequency)."""
    return next((row for row in chart if length_mm <= row["up_to"]), None)


def _needle_length(facts: dict, c: dict) -> Outcome:
    fact = facts.get("needle_length") or {}
    lengths = stated_lengths(fact)
    evidence = fact.get("evidence", [])
    if fact.get("status") != "found" or not lengths:
        return "unknown", 0.0, {"detail": fact.get("reason", "")}, evidence
    home = [v for v in lengths if v <= c["home_max_mm"]]
    longer = [v for v in lengths if v > c["home_max_mm"]]
    row = chart_row(c.get("chart", []), max(home or lengths)) or {}
    fields = {
        "lengths": _mm(lengths),
        "home": _mm(home),
        "longer": _mm(longer),
        "purpose": row.get("purpose", "?").lower(),
        "frequency": row.get("frequency", "?"),
    }
    if not longer:
        return "pass", 1.0, fields, evidence
    if home:
        return "partial", c.get("partial_share", 0.5), fields, evidence
    return "fail", 0.0, fields, evidence


def _needle_material(facts: dict, c: dict) -> Outcome:
    fact = facts.get("needle_material") or {}
    material = fact.get("value")
    fields = {"material": material or "?", "words": _words(fact), "detail": fact.get("reason", "")}
    if fact.get("status") != "found" or not material:
        return "unknown", 0.0, fields, fact.get("evidence", [])
    share = c["shares"].get(material, 0.0)
    status = "pass" if share >= 1.0 else "partial" if share > 0 else "fail"
    return status, share, fields, fact.get("evidence", [])


def _needle_count(facts: dict, c: dict) -> Outcome:
    fact = facts.get("needle_count") or {}
    counts = fact.get("value") or []
    if fact.get("status") != "found" or not counts:
        return "unknown", 0.0, {"detail": fact.get("reason", "")}, fact.get("evidence", [])
    fields = {"counts": ", ".join(str(n) for n in counts)}
    return "pass", 1.0, fields, fact.get("evidence", [])


def _sterile(facts: dict, c: dict) -> Outcome:
    fact = facts.get("sterile") or {}
    fields = {"words": _words(fact), "detail": fact.get("reason", "")}
    if fact.get("status") != "found" or fact.get("value") is None:
        return "unknown", 0.0, fields, fact.get("evidence", [])
    if fact["value"]:
        return "pass", 1.0, fields, fact.get("evidence", [])
    return "fail", 0.0, fields, fact.get("evidence", [])


def _device_price(facts: dict, c: dict) -> Outcome:
    price = facts.get("price") or {}
    usd = price.get("usd")
    evidence = price.get("evidence", [])[:1]
    fields = {"price": price.get("reason", "?")}
    if usd is None:
        return "unknown", 0.0, fields, evidence
    for band in c["bands"]:
        if usd <= band["up_to"]:
            fields["band"] = band["label"]
            return band["status"], band["share"], fields, evidence
    return "fail", 0.0, fields, evidence


DEVICE_CHECKS: dict[str, Callable[[dict, dict], Outcome]] = {
    "needle_length": _needle_length,
    "needle_material": _needle_material,
    "needle_count": _needle_count,
    "sterile": _sterile,
    "device_price": _device_price,
}
