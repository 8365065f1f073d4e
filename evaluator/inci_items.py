"""The items of an INCI list found in a text: each name looked up, with its position and span.

A list's names are mostly names other lists have: each distinct name is looked up once
(``inci_names.name_entry``) and most parts are built in one comprehension. A part where an unknown
name follows an unknown name is read name by name, as two such names may be one name with a comma
typed inside it ("Tetrahexyldecyl, Ascorbate").
"""

from __future__ import annotations

from evaluator.inci_names import KNOWN_ENTRIES, MAX_NAME_CHARS, name_entry
from evaluator.inci_view import GLUE, may_contain

Part = tuple[int, int, list[tuple[int, int]]]


def items_of(
    text: str, view: str, parts: list[Part], all_entries: bool
) -> tuple[list[dict], list[dict]]:
    """(items, notable items) of the list's parts (see ``inci.parse_ingredients``)."""
    items: list[dict] = []
    notable: list[dict] = []
    glued = GLUE in view
    entry_of = KNOWN_ENTRIES.get
    for start, end, spans in parts:
        marker = may_contain(view, start, end)
        may_contain_at = marker.start() if marker else end
        names = [view[s:e] for s, e in spans]
        if glued:
            names = [name.replace(GLUE, "") for name in names]
        entries = [entry_of(name) or name_entry(name) for name in names]
        unknown = [i for i, entry in enumerate(entries) if entry[0] is None]
        if any(b - a == 1 for a, b in zip(unknown, unknown[1:], strict=False)):
            _read_by_name(text, spans, names, entries, may_contain_at, all_entries, items, notable)
            continue
        base = len(items)
        part = [
            {
                "position": position,
                "raw": text[s:e],
                "canonical": entry[1],
                "known": entry[0] is not None,
                "may_contain": s >= may_contain_at,
                "start": s,
                "end": e,
            }
            for position, (s, e), entry in zip(
                range(base + 1, base + len(spans) + 1), spans, entries, strict=True
            )
        ]
        for i in range(len(part)) if all_entries else ():
            if entries[i][0] is not None:
                part[i]["ingredient"] = entries[i][0]
        for i in [i for i, entry in enumerate(entries) if entry[2]]:
            part[i]["ingredient"] = entries[i][0]
            notable.append(part[i])
        items += part
    return items, notable


def _read_by_name(
    text: str,
    spans: list[tuple[int, int]],
    names: list[str],
    entries: list[tuple],
    may_contain_at: int,
    all_entries: bool,
    items: list[dict],
    notable: list[dict],
) -> None:
    # the name of this part's last item while it is unknown and short: an unknown name after
    # it may make a known name with it ("Tetrahexyldecyl, Ascorbate": a comma typed in a name)
    unknown_before = None
    for (s, e), name, (found, canonical, flagged) in zip(spans, names, entries, strict=True):
        if found is None and unknown_before is not None:
            joined, joined_name, joined_flagged = name_entry(f"{unknown_before} {name}")
            if joined is not None:
                item = items[-1]
                item["raw"] = text[item["start"] : e]
                item["canonical"] = joined_name
                item["known"] = True
                item["end"] = e
                if all_entries or joined_flagged:
                    item["ingredient"] = joined
                if joined_flagged:
                    notable.append(item)
                unknown_before = None
                continue
        item = {
            "position": len(items) + 1,
            "raw": text[s:e],
            "canonical": canonical,
            "known": found is not None,
            "may_contain": s >= may_contain_at,
            "start": s,
            "end": e,
        }
        if found is not None:
            if flagged:
                item["ingredient"] = found
                notable.append(item)
            elif all_entries:
                item["ingredient"] = found
            unknown_before = None
        else:
            unknown_before = name if len(name) < MAX_NAME_CHARS else None
        items.append(item)
