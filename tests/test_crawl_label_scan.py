"""The label scan's shortcut (crawler/extract/label_scan.py): a text it passes over never holds a
label word, whatever the label patterns of evaluator.labels and evaluator.size say."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extract.label_scan import (
    ANY_WORD,
    LABEL_CHARS,
    label_heads,
    label_texts,
    may_start_label,
)
from crawler.extract.page import parse_page

# The words the label patterns are written with, in every case a shop may type them.
PATTERN_WORDS = sorted(set(re.findall(r"[a-z]{2,}", ANY_WORD.pattern.replace(r"\s", " "))))
PIECES = st.sampled_from([*PATTERN_WORDS, " ", "  ", "\t", ":", "'", "\u2019", "(", ")", ".", "x"])


def any_case(text: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if flip else c for c, flip in zip(text, flips + [False] * len(text), strict=False)
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=8), st.lists(st.booleans(), max_size=60), st.text(max_size=6))
def test_no_text_with_a_label_word_is_passed_over(pieces, flips, noise):
    text = any_case(noise + "".join(pieces), flips)
    if ANY_WORD.search(text):
        assert may_start_label(text)


@pytest.mark.parametrize(
    "text",
    [
        "Full Ingredients List", "INCI:", "What\u2019s inside", "Net Wt. 1 oz", "SIZE 30 ml",
        "Contents: 30 ml", "Capacity", "More information", "Specifications", "Packaging",
        "\u0130NCI", "Ingr\u00e9dients", "\u017fize",
    ],
)  # fmt: skip
def test_labels_are_examined(text):
    assert may_start_label(text) == bool(ANY_WORD.search(text))


def test_a_page_of_plain_text_has_no_labels_and_its_labels_are_found():
    page = parse_page(
        "<html><body><p>Our lab writes every formula in plain words.</p>"
        "<h3>Ingredients</h3><p>Aqua, Ascorbic Acid</p><p><b>Size:</b> 30 ml</p></body></html>",
        "http://127.0.0.1:1/p",
    )
    found = label_texts(page.tree)
    assert [text for _, text in found["ingredients"]] == ["Ingredients"]
    assert [text.strip() for _, text in found["size"]] == ["Size:"]
    assert found["details"] == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(PIECES, max_size=8), st.lists(st.booleans(), max_size=60), st.text()),
        max_size=12,
    )
)
def test_the_scan_of_a_pages_texts_passes_over_what_the_shortcut_does(texts):
    """label_heads scans a page's texts at once: the very ones may_start_label examines one by one."""
    texts = [any_case(noise + "".join(pieces), flips) for pieces, flips, noise in texts]
    heads = [text[: LABEL_CHARS * 3].lstrip()[:LABEL_CHARS] for text in texts]
    expected = [(i, head) for i, head in enumerate(heads) if may_start_label(head)]
    assert label_heads(texts) == expected
