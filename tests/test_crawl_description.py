"""The description element (crawler/extract/html_fields.py): the selectors in their order, found in
one walk over the elements whose attributes name the word."""

from __future__ import annotations

import lxml.html

from crawler.extract.html_fields import DESCRIPTION_SELECTORS, DESCRIPTION_WORD, description


def test_every_selector_names_the_word_the_walk_looks_for():
    assert all(DESCRIPTION_WORD in selector for selector in DESCRIPTION_SELECTORS)


def test_an_earlier_selector_wins_over_an_earlier_element():
    tree = lxml.html.fromstring(
        "<html><body><main>"
        '<div class="description">Generic block first in the page.</div>'
        '<div class="mydescription">No selector matches this one.</div>'
        '<div class="product__description extra">The product\'s own words.</div>'
        '<div itemprop="description">Marked up with microdata.</div>'
        "</main></body></html>"
    )
    assert description(tree)[0] == "Marked up with microdata."
    tree.xpath("//*[@itemprop]")[0].drop_tree()
    assert description(tree)[0] == "The product's own words."


def test_a_description_inside_the_chrome_is_passed_over_and_none_is_none():
    tree = lxml.html.fromstring(
        '<html><body><footer><p id="description">Free shipping</p></footer>'
        '<div class="description-ish">x</div></body></html>'
    )
    assert description(tree) == (None, None)
