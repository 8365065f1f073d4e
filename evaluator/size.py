"""Pack sizes in mL ("1 fl oz", "30ml", "1.0 oz / 30 mL", "2 x 15 ml"), weights flagged as weights."""

from __future__ import annotations

import re

from evaluator.text import evidence
from evaluator.units import MASS_UNITS, VOLUME_UNITS, factor, unit_name
from evaluator.vocab import lowered_alike, matches_at, occurrences

_SIZE = re.compile(
    r"(?<![\w.,])(?:(?P<count>\d{1,2})\s*[x×]\s*)?(?P<num>\d{1,5}(?:[.,]\d{1,3})?|[.,]\d{1,3})\s*"
    r"(?P<unit>fl\.?\s*oz\.?|fl\.?\s*ounces?|fluid\s+ounces?|oz\.?|ounces?|ml|millilit(?:re|er)s?|cl|"
    r"l(?:itres?|iters?)?|g|gr|grams?|grammes?)(?![\w])",
    re.I,
)
# A size as a shop states it: an amount, then the same in other units ("1 oz/ 30 mL", "1.7 oz (50 ml)").
_STATEMENT = re.compile(
    rf"{_SIZE.pattern}(?:\s*(?:/|\||\()\s*{_SIZE.pattern.replace('?P<', '?P<alt_')}\)?)?",
    re.I,
)
# The words shops put before a pack size ("Size:", "SIZE", "Net wt.", "Volume"); the crawler finds
# size labels in pages with it too.
SIZE_LABEL = re.compile(
    r"(?i)\b(?:size|net\s+(?:wt\.?|weight|contents?|volume)|volume|contents?|capacity)\b\s*:?"
)
_LABEL_WORDS = ("size", "net", "volume", "content", "capacity")  # what every SIZE_LABEL starts with
# Where a size statement can start: a digit, point or comma not after a word character, point or
# comma (_SIZE's look-behind). A charset first is found fast; the look-behind then runs only there.
_NUMBER_START = re.compile(r"[\d.,](?<![\w.,].)")
MAX_ML = 5000.0
MAX_SCAN = 200_000
# Words before an amount that make it a dose, not the pack size.
_DOSE = re.compile(
    r"(?i)\b(?:apply|use|using|take|dispense|massage|smooth|drops|dropperful|each|per|dose|"
    r"approximately|about|up to|add|mix|every)\b[^.\n]{0,20}$"
)


def _amount(
    field: str, text: str, match: re.Match, prefix: str, count: int, span: tuple[int, int]
) -> dict | None:
    name = unit_name(match.group(f"{prefix}unit"))
    if name is None:
        return None
    amount = float(match.group(f"{prefix}num").replace(",", "."))
    total = amount * count
    item = {"evidence": evidence(field, text, *span), "count": count}
    if name in VOLUME_UNITS:
        item["ml"] = total * factor(name, "milliliter")
        item["explicit_ml"] = name == "milliliter"
        item["ounce_only"] = match.group(f"{prefix}unit").lower().startswith("o")
    elif name in MASS_UNITS:
        item["grams"] = total * factor(name, "gram")
    return item


def _read(field: str, text: str) -> list[dict]:
    """Every amount in ``text``. An amount restated in other units counts as many units as the first
    ("2 x 0.33 oz/ 10 mL" is 20 mL), and then its evidence is the whole statement."""
    found: list[dict] = []
    starts = [m.start() for m in _NUMBER_START.finditer(text)]
    for match in matches_at(_STATEMENT, text, starts):
        count = int(match.group("count")) if match.group("count") else 1
        items = [_amount(field, text, match, "", count, (match.start(), match.end("unit")))]
        if match.group("alt_num") is not None:
            if match.group("alt_count"):
                own = int(match.group("alt_count"))
                span = (match.start("alt_count"), match.end("alt_unit"))
            else:
                own = count
                span = (
                    match.start() if count > 1 else match.start("alt_num"),
                    match.end("alt_unit"),
                )
            items.append(_amount(field, text, match, "alt_", own, span))
        found.extend(item for item in items if item is not None)
    return found


def size_wording(text: str | None) -> str | None:
    """The first size statement in ``text`` as the shop wrote it ("2 x 0.33 oz/ 10 mL"), else None."""
    if not text:
        return None
    for match in _STATEMENT.finditer(text[:MAX_SCAN]):
        if unit_name(match.group("unit")) is not None:
            return match.group(0).strip()
    return None


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _is_dose(text: str, size: dict) -> bool:
    """A size right after "apply", "use", "each", ... is a dose, not the pack size."""
    start = size["evidence"]["start"]
    return _DOSE.search(text, max(0, start - 30), start) is not None


def _labels(text: str) -> list[re.Match[str]]:
    """``SIZE_LABEL.finditer(text)``, tried only where one of its words starts."""
    lower = lowered_alike(text)
    if lower is None:
        return list(SIZE_LABEL.finditer(text))
    return matches_at(SIZE_LABEL, text, occurrences(lower, _LABEL_WORDS))


def _labelled(sizes: list[dict], text: str) -> list[dict]:
    """The sizes in ``text`` that follow a size label ("Size: 30 ml"), for the first label with any."""
    for label in _labels(text) if sizes else ():
        end = _line_end(text, label.start())  # the label's own line ("Size:" alone: the next one)
        if label.group().rstrip().endswith(":") and not text[label.end() : end].strip():
            end = _line_end(text, end + 1)
        end = min(end, label.end() + 40)
        found = [
            s
            for s in sizes
            if label.end() <= s["evidence"]["start"] < end and not _is_dose(text, s)
        ]
        if found:
            return found
    return []


def size_facts(
    sources: list[tuple[str, str]],
    description: tuple[str, str] | None = None,
    later: list[tuple[str, str]] = (),
    labelled: list[tuple[str, str]] = (),
) -> dict:
    """The pack size from the first place that states one: ``sources`` in order (variant size,
    variant title, listing title), a labelled size in ``labelled`` (the page's details) or in the
    description ("Size: 30 ml"), ``later`` sources (image alt texts), then any size in the
    description that is not a dose ("apply 2 ml").

    Returns ``{"ml", "grams", "kind", "reason", "evidence"}``.
    """
    for field, text in sources:
        sizes = _read(field, text)
        if sizes:
            return _choose(sizes)
    for field, text in labelled:
        sizes = _labelled(_read(field, text), text)
        if sizes:
            return _choose(sizes)
    field, text = description if description is not None else ("", "")
    in_description = _read(field, text) if text else []
    sizes = _labelled(in_description, text)
    if sizes:
        return _choose(sizes)
    for later_field, later_text in later:
        sizes = _read(later_field, later_text)
        if sizes:
            return _choose(sizes)
    pack_sizes = [s for s in in_description if not _is_dose(text, s)]
    if pack_sizes:
        return _choose(pack_sizes[:1])
    return {
        "ml": None,
        "grams": None,
        "kind": "unknown",
        "reason": "no size stated",
        "evidence": [],
    }


def _choose(sizes: list[dict]) -> dict:
    volumes = [s for s in sizes if "ml" in s]
    weights = [s for s in sizes if "grams" in s]
    if weights and (not volumes or all(v["ounce_only"] for v in volumes)):
        chosen = weights[0]
        grams = round(chosen["grams"], 2)
        if grams <= 0:
            return _unknown(f"a size of {grams:g} g is not a size", chosen)
        return {
            "ml": None,
            "grams": grams,
            "kind": "weight",
            "reason": f"sold by weight ({grams:g} g); a weight is not a volume",
            "evidence": [s["evidence"] for s in sizes[:3]],
        }
    if not volumes:
        return _unknown("no size stated", None)
    chosen = next((v for v in volumes if v["explicit_ml"]), volumes[0])
    ml = round(chosen["ml"], 2)
    if ml <= 0:
        return _unknown(f"a size of {ml:g} mL is not a size", chosen)
    if ml > MAX_ML:
        return _unknown(f"{ml:g} mL is not a serum size", chosen)
    reason = f"{ml:g} mL"
    if chosen["count"] > 1:
        reason += f" in total ({chosen['count']} units)"
    return {
        "ml": ml,
        "grams": None,
        "kind": "volume",
        "reason": reason,
        "evidence": [chosen["evidence"]] + [s["evidence"] for s in sizes if s is not chosen][:2],
    }


def _unknown(reason: str, chosen: dict | None) -> dict:
    return {
        "ml": None,
        "grams": None,
        "kind": "unknown",
        "reason": reason,
        "evidence": [chosen["evidence"]] if chosen else [],
    }
