"""extruct's microdata pass runs only on pages that can hold microdata (crawler/extract/page.py):
every page with an ``itemscope`` attribute, however it is spelt or encoded, keeps its items."""

from __future__ import annotations

import pytest

from crawler.extract.page import SYNTAXES, parse_page, syntaxes_of

URL = "http://127.0.0.1:1/products/x"
MICRODATA = (
    "<html><head><title>x</title></head><body>"
    '<div {scope} itemtype="https://schema.org/Product"><h1 itemprop="name">Bright C Serum</h1>'
    '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
    '<span itemprop="price">24.00</span></div></div></body></html>'
)


@pytest.mark.parametrize("scope", ["itemscope", "ITEMSCOPE", 'ItemScope=""'])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1252"])
def test_microdata_is_read_however_the_page_spells_and_encodes_it(scope, encoding):
    body = MICRODATA.format(scope=scope).encode(encoding)
    page = parse_page(body, URL, encoding)
    assert page.microdata[0]["name"] == "Bright C Serum"
    assert parse_page(MICRODATA.format(scope=scope), URL).microdata == page.microdata


def test_a_page_without_microdata_skips_only_that_syntax():
    body = b'<html><head><meta property="og:title" content="Bright C"></head><body>x</body></html>'
    assert syntaxes_of(body, "utf-8") == [s for s in SYNTAXES if s != "microdata"]
    assert syntaxes_of(body.decode(), "utf-8") == [s for s in SYNTAXES if s != "microdata"]
    assert syntaxes_of(body.decode().encode("utf-16"), "utf-16") == SYNTAXES  # not read as ASCII
    page = parse_page(body, URL)
    assert page.microdata == [] and page.opengraph["og:title"] == "Bright C"
