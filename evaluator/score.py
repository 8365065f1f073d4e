"""Apply a rubric (data/rubrics/<name>.toml) to a listing's facts.

A rubric is data: criteria with an id, a ``check`` (one of its category's checks: SERUM_CHECKS below for
vitamin C serums, data/categories.toml for the others), points, thresholds and the
reasons users read. Each check returns a status (pass / partial / fail / unknown), the share of the
points earned and the evidence behind it; the code never decides what a criterion is worth.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache

from evaluator.categories import DEFAULT_CATEGORY, category
from evaluator.vocab import RUBRIC_DIR, read_toml

Outcome = tuple[str, float, dict, list[dict]]  # status, share of points, reason fields, evidence


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _light(facts: dict, c: dict) -> Outcome:
    light = facts["light"]
    shares = {
        "protective": 1.0,
        "conflicting": c.get("conflicting_share", 0.0),
        "clear": 0.0,
        "unknown": 0.0,
    }
    statuses = {
        "protective": "pass",
        "conflicting": "partial",
        "clear": "fail",
        "unknown": "unknown",
    }
    value = light["value"]
    words = ", ".join(repr(e["text"]) for e in light["evidence"][:3])
    status = statuses.get(value, "unknown")
    if status == "partial" and not shares[value]:
        status = "fail"
    return (
        status,
        shares.get(value, 0.0),
        {"words": words, "detail": light["reason"]},
        light["evidence"],
    )


def _stated_percentages(facts: dict, c: dict) -> Outcome:
    tracked = c.get("actives", ["vitamin_c"])
    required = c.get("required", ["vitamin_c"])
    stated = {a["active"]: a for a in facts["actives"] if a["active"] in tracked}
    highlighted = [a for a in tracked if a in facts["mentioned_actives"] and a not in required]
    evidence = [e for a in stated.values() for e in a["evidence"][:1]]
    names = c.get("names", {})

    def label(active: str) -> str:
        return names.get(active, active.replace("_", " "))

    missing_required = [a for a in required if a not in stated]
    others_stated = [a for a in highlighted if a in stated]
    others_missing = [a for a in highlighted if a not in stated]
    fields = {
        "stated": ", ".join(
            f"{label(a)} {_percent_text(stated[a])}" for a in tracked if a in stated
        )
        or "none",
        "missing": ", ".join(label(a) for a in missing_required + others_missing) or "none",
    }
    required_share = c.get("required_share", 0.5)
    if c.get("contradicted_by_inci_order") == "not stated":
        contradicted = [x for x in facts["order_contradictions"] if x["active"] in tracked]
        if contradicted:
            fields["case"] = "contradicted"
            fields["contradiction"] = "; ".join(x["reason"] for x in contradicted[:3])
            quoted = evidence + [
                e for x in contradicted for e in x["evidence"] if e not in evidence
            ]
            return "fail", 0.0, fields, quoted
    if missing_required:
        return "fail", 0.0, fields, evidence
    other_share = 1.0 if not highlighted else len(others_stated) / len(highlighted)
    share = required_share + (1 - required_share) * other_share
    return ("pass" if not others_missing else "partial"), share, fields, evidence


def _percent_text(active: dict) -> str:
    if active["percent"] is not None:
        return f"{active['percent']:g}%"
    low, high = active["percent_min"], active["percent_max"]
    if low is not None and high is not None:
        return f"{low:g}–{high:g}%"
    return f"up to {high:g}%" if high is not None else f"at least {low:g}%"


def _price(facts: dict, c: dict) -> Outcome:
    per30 = facts["price_per_30ml"]
    evidence = facts["price"]["evidence"][:1] + facts["size"]["evidence"][:1]
    fields = {
        "per30": f"{per30:.2f}" if per30 is not None else "?",
        "price": facts["price"]["reason"],
        "size": facts["size"]["reason"],
    }
    if per30 is None:
        missing = "price" if facts["price"].get("usd") is None else "size in mL"
        fields["missing"] = missing
        return "unknown", 0.0, fields, evidence
    for band in c["bands"]:
        if per30 <= band["up_to"]:
            fields["band"] = band["label"]
            return band["status"], band["share"], fields, evidence
    return "fail", 0.0, fields, evidence


def _vitamin_c_form(facts: dict, c: dict) -> Outcome:
    vc = facts["vitamin_c"]
    forms = [f["form"] for f in vc["forms"]]
    evidence = [e for f in vc["forms"] for e in f["evidence"][:1]]
    fields = {"forms": ", ".join(forms) or "none", "window": ""}
    if not forms:
        named = facts["mentioned_actives"].get("vitamin_c", [])[:1]
        if not named:
            return "fail", 0.0, fields, []
        return "partial", c.get("unnamed_share", 0.3), fields, named
    low, high = c.get("laa_window", [10, 20])
    laa = [
        a for a in facts["actives"] if a["active"] == "vitamin_c" and a["form"] == "L-ascorbic acid"
    ]
    if laa and laa[0]["percent"] is not None and not low <= laa[0]["percent"] <= high:
        fields["window"] = (
            f"; {laa[0]['percent']:g}% L-ascorbic acid is outside the {low}–{high}% window"
        )
        return (
            "partial",
            c.get("outside_window_share", 0.5),
            fields,
            evidence + laa[0]["evidence"][:1],
        )
    return "pass", 1.0, fields, evidence


def _pair(facts: dict, c: dict) -> Outcome:
    wanted = c["actives"]
    present = {}
    for active, mentions in facts["mentioned_actives"].items():
        if active in wanted:
            present[active] = mentions[:1]
    for active, bound in facts["concentration_bounds"].items():
        if active in wanted and active not in present:
            field = facts["ingredients"]["field"]
            present[active] = [{"field": field, **_item_span(facts, bound["position"])}]
    evidence = [e for v in present.values() for e in v]
    names = c.get("names", {})
    fields = {"present": ", ".join(names.get(a, a.replace("_", " ")) for a in present) or "neither"}
    if len(present) == len(wanted):
        return "pass", 1.0, fields, evidence
    return ("partial" if present else "fail"), (0.5 if present else 0.0), fields, evidence


def _ph(facts: dict, c: dict) -> Outcome:
    ph = facts["ph"]
    if ph["status"] != "found":
        return "unknown", 0.0, {"ph": "?"}, []
    fields = {"ph": ph["reason"]}
    low, high = c.get("window", [2.5, 4.0])
    if (
        facts["vitamin_c"]["forms"]
        and any(f["form"] == "L-ascorbic acid" for f in facts["vitamin_c"]["forms"])
        and (ph["max"] > high or ph["min"] < low)
    ):
        return "partial", 0.5, fields, ph["evidence"]
    return "pass", 1.0, fields, ph["evidence"]


def _dispenser(facts: dict, c: dict) -> Outcome:
    dispenser = facts["dispenser"]
    value = dispenser["value"]
    fields = {"dispenser": value}
    if value == "unknown":
        return "unknown", 0.0, fields, []
    share = c["shares"].get(value, 0.0)
    status = "pass" if share >= 1 else "partial" if share > 0 else "fail"
    return status, share, fields, dispenser["evidence"]


def _no_fragrance(facts: dict, c: dict) -> Outcome:
    if facts["ingredients"]["status"] != "found":
        return "unknown", 0.0, {"flagged": ""}, []
    flagged = facts["fragrance"]
    if not flagged:
        return "pass", 1.0, {"flagged": ""}, facts["ingredients"]["evidence"][:1]
    fields = {"flagged": ", ".join(f["raw"] for f in flagged[:5])}
    return "fail", 0.0, fields, [e for f in flagged[:5] for e in f["evidence"]]


def _inci_order(facts: dict, c: dict) -> Outcome:
    bound = facts["concentration_bounds"].get("vitamin_c")
    if facts["ingredients"]["status"] != "found" or bound is None:
        return "unknown", 0.0, {"detail": "no vitamin C in a readable ingredient list"}, []
    evidence = [{"field": facts["ingredients"]["field"], **_item_span(facts, bound["position"])}]
    contradictions = facts["order_contradictions"]
    if contradictions:
        detail = "; ".join(x["reason"] for x in contradictions[:3])
        return (
            "fail",
            0.0,
            {"detail": detail},
            evidence + [e for x in contradictions for e in x["evidence"]],
        )
    if bound["max"] <= c.get("barely_water_max_percent", 1.0) and bound["water_first"]:
        detail = f"vitamin C is listed after {bound['after_one_percent_marker'] or 'typically <= 1% ingredients'} in a water-first list: at most {bound['max']:g}%"
        return "fail", 0.0, {"detail": detail}, evidence
    detail = f"{bound['ingredient']} is {bound['basis']}"
    if bound.get("use_limit") is not None and bound["use_limit"] < bound["max"]:
        detail += (
            f"; its typical use limit is {bound['use_limit']:g}% (a caution, not a contradiction)"
        )
    return "pass", 1.0, {"detail": detail}, evidence


def _item_span(facts: dict, position: int) -> dict:
    item = facts["ingredients"]["items"][position - 1]
    return {"text": item["raw"], "start": item["start"], "end": item["end"]}


SERUM_CHECKS: dict[str, Callable[[dict, dict], Outcome]] = {
    "light": _light,
    "stated_percentages": _stated_percentages,
    "price_per_30ml": _price,
    "vitamin_c_form": _vitamin_c_form,
    "pair_present": _pair,
    "ph_stated": _ph,
    "dispenser": _dispenser,
    "no_fragrance": _no_fragrance,
    "inci_order": _inci_order,
}


def load_rubric(name: str) -> dict:
    """The rubric ``data/rubrics/<name>.toml`` as a dict: id, version, title, description, verdict
    thresholds and criteria (id, title, check, max_points, why, reasons, thresholds). A fresh copy:
    changing it changes nothing for ``evaluate``."""
    return copy.deepcopy(rubric_rules(name))


@cache
def rubric_rules(name: str) -> dict:
    """The parsed rubric, shared by every evaluation (treat as read-only)."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"not a rubric name: {name!r}")
    path = RUBRIC_DIR / f"{name}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in RUBRIC_DIR.glob("*.toml")))
        raise ValueError(f"no rubric named {name!r} (known: {known})")
    rubric = read_toml(path)
    rubric.setdefault("category", DEFAULT_CATEGORY)
    checks = category(rubric["category"]).checks
    for criterion in rubric["criteria"]:
        if criterion["check"] not in checks:
            raise ValueError(
                f"rubric {name}: criterion {criterion['id']} has unknown check {criterion['check']!r}"
            )
    rubric.setdefault("id", name)
    verdict = rubric["verdict"]
    if not verdict.get("essential_failed_max_score", verdict["consider"]) < verdict["consider"]:
        raise ValueError(
            f"rubric {name}: verdict.essential_failed_max_score must be below verdict.consider,"
            " so a failed essential criterion never out-scores a listing it ranks below"
        )
    return rubric


def apply_rubric(rubric: dict, facts: dict) -> tuple[int, str, str, list[dict]]:
    """(score 0-100, verdict, why that verdict, breakdown) for ``facts`` under ``rubric``."""
    checks = category(rubric.get("category", DEFAULT_CATEGORY)).checks
    breakdown = []
    earned = possible = 0
    critical_failures = []
    for criterion in rubric["criteria"]:
        max_points = int(criterion["max_points"])
        try:
            status, share, fields, evidence = checks[criterion["check"]](facts, criterion)
            # A check may name a more specific case than its status ("contradicted" for a fail).
            case = fields.get("case", status)
            reasons = criterion.get("reasons", {})
            template = reasons.get(case) or reasons.get(status, "{detail}")
            reason = template.format_map(_Blank(fields))
        except Exception as error:  # one broken criterion must not hide the others
            status, share, evidence = "unknown", 0.0, []
            reason = f"could not be checked ({type(error).__name__})"
        points = round(max_points * max(0.0, min(1.0, share)))
        earned += points
        possible += max_points
        if criterion.get("critical") and status == "fail":
            critical_failures.append(criterion["title"])
        breakdown.append(
            {
                "id": criterion["id"],
                "title": criterion["title"],
                "status": status,
                "points": points,
                "max_points": max_points,
                "reason": reason,
                "evidence": evidence[:6],
            }
        )
    score = round(100 * earned / possible) if possible else 0
    thresholds = rubric["verdict"]
    if critical_failures:
        verdict, cap = "avoid", thresholds["essential_failed_max_score"]
        why = f"failed an essential criterion: {', '.join(critical_failures)}"
        if score > cap:
            why += f" (its score of {score} is capped at {cap})"
            score = cap
    elif score >= thresholds["recommend"]:
        verdict = "recommend"
        why = f"score {score} is at or above {thresholds['recommend']}, the recommend line"
    elif score >= thresholds["consider"]:
        verdict = "consider"
        why = f"score {score} is at or above {thresholds['consider']}, the consider line, below {thresholds['recommend']}"
    else:
        verdict = "avoid"
        why = f"score {score} is below {thresholds['consider']}, the consider line"
    return score, verdict, why, breakdown
