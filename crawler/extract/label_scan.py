"""One pass over a page for the labels worth a closer look: ingredients, size and details labels.

Only the elements whose own text (or the text after a child) starts with a label word are examined
by the finders, so their cost grows with the page, not with the page times its depth. A label is short ("Ingredients", "Size:", "Full ingredient list (INCI)"), so only the start
of each text node is looked at.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from lxml import etree

from evaluator.labels import INGREDIENTS_LABEL
from evaluator.size import SIZE_LABEL

# The details labels ("Details", "Packaging", "Specifications", "More information").
DETAILS_WORDS = (
    r"details|packaging|specifications?|specs|features|(?:more|additional)\s+information"
)
# What starts a label of each kind: the very patterns the finders then match the label against
# (evaluator.labels, evaluator.size), so no label they accept is missed here.
PATTERNS = {
    "ingredients": re.compile(INGREDIENTS_LABEL, re.IGNORECASE),
    "size": SIZE_LABEL,
    "details": re.compile(rf"\b(?:{DETAILS_WORDS})\b", re.IGNORECASE),
}
KINDS = tuple(PATTERNS)
ANY_WORD = re.compile(
    "|".join(f"(?:{p.pattern.removeprefix('(?i)')})" for p in PATTERNS.values()), re.IGNORECASE
)
LABEL_CHARS = 64  # a label word further into a text node than this starts no label
# A word that every match of ANY_WORD contains (in lower case). Matching ANY_WORD costs ~5 µs per text
# node, and most of a page's text nodes start no label: an ASCII text without any of these words is
# passed over (a substring test, exact for ASCII), other text is matched in full.
LABEL_WORDS = (
    "ingredient", "inci", "inside", "composition", "size", "net", "volume", "content", "capacity",
    "detail", "packaging", "spec", "feature", "information",
)  # fmt: skip
# Every text node: an element's own text, or the tail after a child.
TEXTS = etree.XPath("//text()")
NOT_LABELS = {"script", "style", "template", "noscript"}

Labels = dict[str, list[tuple[etree._Element, str]]]


def may_start_label(head: str) -> bool:
    """False when ``head`` surely holds no label word; True when ANY_WORD matches it."""
    if not head.isascii():
        return ANY_WORD.search(head) is not None
    lowered = head.lower()
    return any(word in lowered for word in LABEL_WORDS) and ANY_WORD.search(head) is not None


def label_heads(texts: list[str]) -> list[tuple[int, str]]:
    """(index, head) of the ``texts`` whose head (its first LABEL_CHARS characters after spaces)
    may_start_label, in order. The ASCII heads are joined and searched for each of LABEL_WORDS at
    once: a page has a hundred texts or more, and a search of them all costs less than of one."""
    heads = [text[: LABEL_CHARS * 3].lstrip()[:LABEL_CHARS] for text in texts]
    worded: set[int] = set()  # the non-ASCII heads, each matched in full
    ascii_heads = heads
    if not "".join(heads).isascii():
        ascii_heads = [head if head.isascii() else "" for head in heads]
        worded = {i for i, head in enumerate(ascii_heads) if head != heads[i]}
    # "\n" is in no label word, so no word found spans two heads; lower() keeps ASCII lengths.
    starts = list(accumulate((len(head) + 1 for head in ascii_heads), initial=0))
    joined = "\n".join(ascii_heads).lower()
    for word in LABEL_WORDS:
        at = joined.find(word)
        while at != -1:
            index = bisect_right(starts, at) - 1
            worded.add(index)
            at = joined.find(word, starts[index + 1])
    return [(i, heads[i]) for i in sorted(worded) if ANY_WORD.search(heads[i])]


def label_texts(root: etree._Element, kinds: tuple[str, ...] = KINDS) -> Labels:
    """{kind: [(element, text)]}: elements whose own text starts with a label word of that kind, and
    the parent of a child whose tail text does, in document order."""
    found: Labels = {kind: [] for kind in kinds}
    texts = TEXTS(root)
    for index, head in label_heads(texts):
        text = texts[index]
        element = text.getparent()
        if text.is_tail and element is not None:
            element = element.getparent()
        elif element is not None and element.tag in NOT_LABELS:
            continue
        if element is None:
            continue
        for kind in kinds:
            if PATTERNS[kind].search(head):
                found[kind].append((element, str(text)))
    return found
