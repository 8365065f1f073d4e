"""Which listings of different shops sell the same product (docs/schema.md, "Products").

Pure: ``match_products(records)`` takes one record per listing and says which records are one
product and why. A record is a plain dict:

    {"listing_id", "shop", "brand", "title", "gtins": [...], "mpns": [...],
     "ingredients": [canonical INCI names in order], "vitamin_c_forms": [...],
     "vitamin_c_percent": float | None}

Two listings are joined, strongest evidence first, by a shared valid GTIN (EAN/UPC, check digit
validated with python-stdnum), a shared MPN of the same brand, or the same normalised brand with
names that agree (rapidfuzz's token sort ratio, the same numbers, the same skin types) and formulas
that agree (the same first ingredients in the same order and nearly the same list, or one list
written out differently: sunscreen filters listed apart, a list cut or continued, names spelt or
split differently; never an ingredient added, dropped or moved inside the list). A shop's full size
and its "Mini" (the same name once sizes are dropped) are one product. Whatever the evidence, two listings
whose formula facts disagree (another vitamin C form or %, another ingredient list) are never one
product, nor are two listings of one shop under other names; joins are complete-link, so a group never holds two
listings that disagree. When in doubt nothing is joined: a wrong merge misleads more than a missed
one.

rapidfuzz rather than a record-linkage library (splink, recordlinkage): the candidates are already
blocked by brand and confirmed by the ingredient list, so one string similarity is all that is
needed; a model trained on labelled pairs would add a dependency, and the 509 hand-checked pairs
(bench/labels/matching.jsonl) are too few to train on and still hold a third out. Rules also say why.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel
from stdnum import ean

NAME_THRESHOLD = 85  # token sort ratio of the normalised names, 0-100
FIRST_INGREDIENTS = 10  # these must be the same, in the same order
LIST_SIMILARITY = 0.9  # Indel similarity of the whole canonical lists
MIN_INGREDIENTS = 3  # fewer is no list to confirm a name match with
PERCENT_TOLERANCE = 0.05
MAX_CUT = 5  # ingredients a list may start later than the other (a cut list, text glued before)
MIN_TOLD_DIFFERENTLY = 8  # ingredients in common before two lists are judged the same list
SPELLING_SIMILARITY = 90  # rapidfuzz ratio of one name spelt or split two ways, 0-100
# Sunscreen filters: a US label lists them first as drug actives, other labels among the rest.
UV_FILTERS = frozenset(
    {
        "avobenzone", "benzophenone-3", "butyl methoxydibenzoylmethane", "ensulizole",
        "ethylhexyl methoxycinnamate", "ethylhexyl salicylate", "homosalate", "octinoxate",
        "octisalate", "octocrylene", "oxybenzone", "titanium dioxide", "zinc oxide",
    }
)  # fmt: skip
GLUED_PERCENT = re.compile(r"^(.*?\D)\s*\d+(?:\.\d+)?\s*%\s*([a-z].*)$")

# Words a shop adds to a name that say nothing about the formula.
MARKETING_WORDS = re.compile(
    r"\b(new|now|limited edition|exclusive|online only|bestseller|best seller|sale|value size|"
    r"jumbo|mini|travel size|full size|refill|deluxe|trial size|duo|trio|twin pack|"
    r"pack of \d+|set of \d+|\d+ ?(?:pack|pk|x))\b"
)
SIZE_WORDS = re.compile(
    r"\b\d+\s*x\s*(?=\d)|\b\d+(?:[.,]\d+)?\s*(?:ml|millilitres?|milliliters?|fl\.?\s*oz|oz|ounces?|g|grams?|l)\b"
    r"|\bx\s*\d+\b"
)
SKIN_TYPES = re.compile(r"\b(dry|oily|combination|normal|sensitive|mature|n c|all skin types)\b")
SIZE_ONLY_WORDS = re.compile(r"\b(mini|travel size|trial size|full size|jumbo|value size|deluxe)\b")
SEPARATORS = re.compile(r"\s+[-|–—:]\s+")
BRAND_SUFFIXES = re.compile(r"\b(skin ?care|cosmetics|beauty|laboratories|labs?)$")


def valid_gtin(code: object) -> str | None:
    """A GTIN-8/12/13/14 with a correct check digit, as 14 digits (so a UPC and its EAN-13 agree);
    None for anything else (a shop's own SKU, a typo)."""
    if code is None:
        return None
    digits = re.sub(r"[\s-]", "", str(code))
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14) or not ean.is_valid(digits):
        return None
    if set(digits) == {"0"}:
        return None
    return digits.zfill(14)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", re.sub(r"[™®©]", " ", text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("&", " and ")
    return re.sub(r"[^a-z0-9%.]+", " ", text)


def normalise_brand(brand: object) -> str:
    """ "Dr. Jart+" and "DR JART" → "dr jart"; a trailing "Skincare"/"Beauty" is dropped."""
    text = re.sub(r"[.%]", " ", _plain(str(brand or "")))
    text = " ".join(text.split())
    return BRAND_SUFFIXES.sub("", text).strip()


def normalise_name(title: object, brand: object = None) -> str:
    """The product's name without sizes, pack words, marketing words, ™/® or the brand."""
    text = str(title or "")
    parts = SEPARATORS.split(text)
    if len(parts) > 1 and len(parts[0].split()) >= 2:
        text = parts[0]  # "Daily C Serum - Brightens & Protects": the suffix is marketing
    text = _plain(text)
    text = SIZE_WORDS.sub(" ", text)
    text = MARKETING_WORDS.sub(" ", text)
    brand_key = normalise_brand(brand)
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text.replace("%", " "))
    words = text.replace(".", " ").split()
    if brand_key:
        brand_words = brand_key.split()
        if words[: len(brand_words)] == brand_words:
            words = words[len(brand_words) :]
    return " ".join(words)


def sized_name(title: object) -> str:
    """The whole name without its sizes ("30ml", "Mini", "Travel Size") and nothing else: what a
    shop's two listings of one product (the full size and the Mini) have in common, and its two
    products (a face mask and its "- Grape" edition) do not."""
    text = SIZE_WORDS.sub(" ", _plain(str(title or "")))
    return " ".join(SIZE_ONLY_WORDS.sub(" ", text).replace(".", " ").split())


def skin_types(name: str) -> frozenset[str]:
    """The skin types a normalised name is made for ("dry", "combination", "n c"): a brand's
    versions for other skin types are other products."""
    return frozenset(SKIN_TYPES.findall(name))


def name_numbers(name: str) -> frozenset[str]:
    """The numbers a normalised name states ("c15" and "c 15%" both say 15)."""
    return frozenset(n.lstrip("0") or "0" for n in re.findall(r"\d+", name))


def _percent(record: dict) -> float | None:
    value = record.get("vitamin_c_percent")
    return float(value) if isinstance(value, int | float) else None


def formula_conflict(a: dict, b: dict) -> str | None:
    """Why two listings cannot be one product, or None when their formula facts do not disagree."""
    pa, pb = _percent(a), _percent(b)
    if pa is not None and pb is not None and abs(pa - pb) > PERCENT_TOLERANCE:
        return f"vitamin C {pa:g}% vs {pb:g}%"
    forms_a, forms_b = set(a.get("vitamin_c_forms") or ()), set(b.get("vitamin_c_forms") or ())
    if forms_a and forms_b and forms_a != forms_b:
        return f"vitamin C form {sorted(forms_a)} vs {sorted(forms_b)}"
    list_a = a["_list"] if "_list" in a else comparable_list(a.get("ingredients"))
    list_b = b["_list"] if "_list" in b else comparable_list(b.get("ingredients"))
    if len(list_a) >= MIN_INGREDIENTS and len(list_b) >= MIN_INGREDIENTS:
        if lists_agree(list_a, list_b):
            return None
        first = min(FIRST_INGREDIENTS, len(list_a), len(list_b))
        if list_a[:first] != list_b[:first]:
            return f"the first {first} ingredients differ"
        return "the ingredient lists differ"
    return None


def lists_agree(a: list[str], b: list[str]) -> str | None:
    """How two comparable ingredient lists agree (the evidence a match stores), or None."""
    first = min(FIRST_INGREDIENTS, len(a), len(b))
    if a[:first] == b[:first]:
        similarity = Indel.normalized_similarity(a, b)
        if similarity >= LIST_SIMILARITY:
            return f"the same first {first} ingredients in order, lists {similarity:.0%} alike"
    if one_list_told_differently(a, b):
        return "the same ingredient list written out differently (cut, continued or spelt apart)"
    return None


def comparable_list(ingredients: object) -> list[str]:
    """The canonical list without the sunscreen filters (a US label lists them first as drug
    actives, other labels among the rest) and with a filter's percentage glued to the next
    ingredient ("octisalate 5.0%water") cut apart."""
    names = []
    for name in ingredients or ():
        glued = GLUED_PERCENT.match(name) if "%" in name else None
        names.extend(glued.groups() if glued else (name,))
    return [name for name in names if name not in UV_FILTERS]


def one_list_told_differently(a: list[str], b: list[str]) -> bool:
    """The same list written out differently: the same ingredients in the same order, except that
    one list starts up to MAX_CUT ingredients later (cut, or text glued before it), one stops
    early or goes on (cut, or a kit's next part), and names are spelt or split differently in
    place ("peg/ppg-17 / 6 copolymer" vs "peg/ppg-17", "6 copolymer"). Any ingredient added,
    dropped or moved inside the list is another formula."""
    blocks = _changes(a, b)
    same = sum(end - start for tag, start, end, *_ in Indel.opcodes(a, b) if tag == "equal")
    if same < max(MIN_TOLD_DIFFERENTLY, LIST_SIMILARITY * min(len(a), len(b))):
        return False
    for position, (removed, added) in enumerate(blocks):
        if position == 0 and blocks.first_is_start and _cut_start(removed, added):
            continue
        if position == len(blocks) - 1 and blocks.last_is_end and _cut_end(removed, added):
            continue
        if not removed or not added or not _spelt_alike(removed, added):
            return False
    return True


def _letters(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name)


def _cut_start(removed: list[str], added: list[str]) -> bool:
    """One list starts up to MAX_CUT ingredients later, or with the first name cut or glued to
    the text before it ("support moisture reserves water" for "water")."""
    if max(len(removed), len(added)) > MAX_CUT + 1:
        return False
    if not removed or not added:
        return True
    short, long = sorted((removed, added), key=len)
    if len(short) != 1:
        return False
    one, other = _letters(short[0]), _letters(long[-1])
    return bool(one and other) and (one.endswith(other) or other.endswith(one))


def _cut_end(removed: list[str], added: list[str]) -> bool:
    """One list stops early (its last name may be cut: "potassium" for "potassium sorbate") or goes
    on (a kit's next part, sometimes glued to the last name)."""
    if not removed or not added:
        return True
    short, long = sorted((removed, added), key=len)
    if len(short) != 1:
        return False
    one, other = _letters(short[0]), _letters(long[0])
    return bool(one and other) and (one.startswith(other) or other.startswith(one))


class _Blocks(list):
    first_is_start = False
    last_is_end = False


def _changes(a: list[str], b: list[str]) -> _Blocks:
    """The runs of ingredients one list has in place of the other's: [(removed, added)]."""
    blocks, removed, added = _Blocks(), [], []
    opcodes = list(Indel.opcodes(a, b))
    for op in opcodes:
        if op.tag == "equal":
            if removed or added:
                blocks.append((removed, added))
            removed, added = [], []
        else:
            removed += a[op.src_start : op.src_end]
            added += b[op.dest_start : op.dest_end]
    if removed or added:
        blocks.append((removed, added))
    blocks.first_is_start = bool(opcodes) and opcodes[0].tag != "equal"
    blocks.last_is_end = bool(opcodes) and opcodes[-1].tag != "equal"
    return blocks


def _spelt_alike(removed: list[str], added: list[str]) -> bool:
    """One name spelt or split two ways, or given with its alternative names
    ("whey protein/lactis protein" for "whey protein")."""
    if len(removed) == len(added) == 1:
        one, other = removed[0], added[0]
        if other in {part.strip() for part in one.split("/")} or one in {
            part.strip() for part in other.split("/")
        }:
            return True
    left, right = (re.sub(r"[^a-z0-9]", "", "".join(names)) for names in (removed, added))
    return fuzz.ratio(left, right) >= SPELLING_SIMILARITY


def _prepare(record: dict) -> dict[str, Any]:
    brand = normalise_brand(record.get("brand"))
    name = normalise_name(record.get("title"), record.get("brand"))
    gtins = sorted({g for g in map(valid_gtin, record.get("gtins") or ()) if g})
    mpns = sorted({str(m).strip().upper() for m in record.get("mpns") or () if str(m).strip()})
    return {
        **record,
        "_brand": brand,
        "_name": name,
        "_numbers": name_numbers(name),
        "_skin": skin_types(name),
        "_sized_name": sized_name(record.get("title")),
        "_list": comparable_list(record.get("ingredients")),
        "_gtins": gtins,
        "_mpns": mpns,
    }


def _name_evidence(a: dict, b: dict) -> tuple[float, str] | None:
    """(similarity, why) when the names and formulas of two same-brand listings agree."""
    if not a["_brand"] or a["_brand"] != b["_brand"] or not a["_name"] or not b["_name"]:
        return None
    if a["_numbers"] and b["_numbers"] and a["_numbers"] != b["_numbers"]:
        return None
    if a["_skin"] != b["_skin"]:
        return None
    list_a, list_b = a.get("ingredients") or (), b.get("ingredients") or ()
    if len(list_a) < MIN_INGREDIENTS or len(list_b) < MIN_INGREDIENTS:
        return None  # nothing to confirm the name with
    score = fuzz.token_sort_ratio(a["_name"], b["_name"])
    if score < NAME_THRESHOLD:
        return None
    return score, f"brand '{a['_brand']}', names '{a['_name']}' ~ '{b['_name']}' ({score:.0f}/100)"


def _candidate_pairs(items: list[dict]) -> list[tuple[float, int, int, str, str]]:
    """(strength, i, j, method, why) for every pair with evidence, strongest first."""
    pairs: dict[tuple[int, int], tuple[float, str, str]] = {}

    def offer(i: int, j: int, strength: float, method: str, why: str) -> None:
        key = (min(i, j), max(i, j))
        if i != j and (key not in pairs or pairs[key][0] < strength):
            pairs[key] = (strength, method, why)

    by_gtin: dict[str, list[int]] = defaultdict(list)
    by_mpn: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_brand: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for gtin in item["_gtins"]:
            by_gtin[gtin].append(index)
        if item["_brand"]:
            for mpn in item["_mpns"]:
                by_mpn[(item["_brand"], mpn)].append(index)
            by_brand[item["_brand"]].append(index)
    for gtin, members in by_gtin.items():
        for i in members:
            for j in members:
                offer(i, j, 300, "gtin", f"GTIN {gtin.lstrip('0')}")
    for (brand, mpn), members in by_mpn.items():
        for i in members:
            for j in members:
                offer(i, j, 200, "mpn", f"MPN {mpn} of brand '{brand}'")
    for members in by_brand.values():
        for position, i in enumerate(members):
            for j in members[position + 1 :]:
                evidence = _name_evidence(items[i], items[j])
                if evidence:
                    offer(i, j, evidence[0], "name+formula", evidence[1])
    return sorted(
        ((s, i, j, m, w) for (i, j), (s, m, w) in pairs.items()),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )


def _two_products_of_one_shop(a: dict, b: dict) -> bool:
    """A shop lists one product once per name: two of its listings are one product only when
    their names are the same once sizes are dropped (the full size and the "Mini")."""
    return a.get("shop") == b.get("shop") and (
        not a["_sized_name"] or a["_sized_name"] != b["_sized_name"]
    )


def match_products(records: list[dict]) -> list[dict]:
    """One entry per record, in order: ``group`` (the index of the group's first record), ``method``
    (``gtin``, ``mpn``, ``name+formula``, or ``alone``) and ``reason`` (the evidence, naming the
    listing it was matched with)."""
    items = [_prepare(r) for r in records]
    group = list(range(len(items)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(items))}
    how: dict[int, tuple[str, str]] = {}
    for _strength, i, j, method, why in _candidate_pairs(items):
        gi, gj = group[i], group[j]
        if gi == gj:
            continue
        left, right = members[gi], members[gj]
        if any(_two_products_of_one_shop(items[a], items[b]) for a in left for b in right):
            continue
        if any(formula_conflict(items[a], items[b]) for a in left for b in right):
            continue
        keep, absorb = (gi, gj) if gi < gj else (gj, gi)
        for k in members[absorb]:
            group[k] = keep
        members[keep].extend(members.pop(absorb))
        if method == "name+formula":
            why = f"{why}, {lists_agree(items[i]['_list'], items[j]['_list'])}"
        for this, other in ((i, j), (j, i)):
            if this not in how:
                how[this] = (method, f"{why}; matched with {items[other].get('listing_id')}")
    alone = ("alone", "no listing of another shop matched")
    return [
        {
            "group": group[index],
            "method": how.get(index, alone)[0],
            "reason": how.get(index, alone)[1],
        }
        for index in range(len(items))
    ]
