"""Where pages without structured data state the size, and the details text kept for the evaluator
(crawler/extract/sizes.py), as example tables of page fragments; and pages that must not break it."""

from __future__ import annotations

import time

import lxml.html
import pytest

from crawler.extract.page import parse_page, product_from_page
from crawler.extract.sizes import find_size, fragment_size, page_details


def _root(html: str):
    return lxml.html.fromstring(f"<html><body><main>{html}</main></body></html>")


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<ul><li>Size: 1 oz/ 30 mL</li></ul>", ("1 oz/ 30 mL", "html-label")),
        ("<div><span class='label'>Size:</span> <span>30ml</span></div>", ("30ml", "html-label")),
        ("<p><strong>Size:</strong> 15ml</p>", ("15ml", "html-label")),
        ("<li>Size: <b>50 ml</b></li>", ("50 ml", "html-label")),
        ("<div>SIZE 0.5 oz/ 15 mL\u2022ITEM 1234567</div>", ("0.5 oz/ 15 mL", "html-label")),
        ("<div>Net Wt. 1.7 oz</div>", ("1.7 oz", "html-label")),
        ("<div>ITEM 1328822 || SIZE: 2 oz/ 60 mL</div>", ("2 oz/ 60 mL", "html-label")),
        ("<dl><dt>Size:</dt><dd>50 ml</dd></dl>", ("50 ml", "html-specs")),
        ("<table><tr><th>Volume</th><td>1.7 fl oz</td></tr></table>", ("1.7 fl oz", "html-specs")),
        ("<div>Size: 2 x 0.33 oz/ 10 mL</div>", ("2 x 0.33 oz/ 10 mL", "html-label")),
        (
            "<label for='s'>Size</label><select id='s'><option>15 ml</option>"
            "<option selected>30 ml</option></select>",
            ("30 ml", "html-option"),
        ),
        (
            "<fieldset><legend>Size</legend><input type='radio' id='a' value='1 oz' checked>"
            "<label for='a'>1 oz</label></fieldset>",
            ("1 oz", "html-option"),
        ),
        (
            "<select name='options[Size]'><option>100 ml</option></select>",
            ("100 ml", "html-option"),
        ),
        ("<button>Size guide</button><p>Our 30 ml bottle lasts a month.</p>", None),
        ("<li>Size: Travel</li>", None),
        ("<p>Our bottle | made to size 30 ml</p>", None),
        ("<p>Apply 3 drops each morning.</p>", None),
        ("<header><div>Size: 100 ml</div></header><h1>Serum</h1>", None),
        ("<select name='country'><option>UK 30 ml</option></select>", None),
    ],
)
def test_find_size(html, expected):
    found = find_size(_root(html))
    if expected:
        assert found is not None and (found.wording, found.how) == expected
    else:
        assert found is None


def test_details_keep_specs_rows_and_panels_but_not_the_ingredients():
    root = _root(
        "<h1>C Serum</h1><div>SIZE 1 oz/ 30 mL\u2022ITEM 7654321</div>"
        "<table><tr><th>Skin type</th><td>All</td></tr>"
        "<tr><th>Ingredients</th><td>Aqua, Ascorbic Acid</td></tr></table>"
        "<details><summary>Packaging</summary><p>Airless pump in frosted amber glass.</p></details>"
    )
    details = page_details(root, find_size(root))
    assert details.splitlines() == [
        "SIZE 1 oz/ 30 mL\u2022ITEM 7654321",
        "Skin type: All",
        "Airless pump in frosted amber glass.",
    ]
    assert page_details(_root("<h1>Plain</h1><p>Nothing more.</p>"), None) is None


def test_a_size_in_a_description_fragment():
    assert fragment_size("<p>Bright.</p><p>Size: 30 ml</p>").how == "description"
    assert fragment_size("<p>Apply 3 drops.</p>") is None
    assert fragment_size("") is None and fragment_size(None) is None


def _page(body: str, head: str = "") -> dict | None:
    html = f"<html><head>{head}</head><body><main>{body}</main></body></html>"
    return product_from_page(parse_page(html, "http://127.0.0.1:9/products/x"))


def test_a_page_without_structured_data_is_read_from_its_html():
    fields = _page(
        "<div class='pdp'><h1>Glow C Serum</h1><div><b>$36.00</b></div>"
        "<div class='meta'><span>Size:</span> <span>1 oz/ 30 mL</span></div>"
        "<div class='copy'><p>Fifteen percent vitamin C in a light gel.</p>"
        "<p>Packed in an amber glass bottle with a dropper.</p>"
        "<p><b>Ingredients:</b> Aqua, Ascorbic Acid, Glycerin</p></div></div>"
    )
    assert fields["title"] == "Glow C Serum"
    assert fields["variants"][0]["price"] == "36.00"
    assert fields["variants"][0]["currency"] == "USD"
    assert fields["variants"][0]["size_text"] == "1 oz/ 30 mL"
    assert fields["provenance"]["size"] == "html-label"
    assert fields["description"].splitlines() == [
        "Fifteen percent vitamin C in a light gel.",
        "Packed in an amber glass bottle with a dropper.",
    ]
    assert fields["ingredients_text"] == "Aqua, Ascorbic Acid, Glycerin"
    assert fields["details"] == "Size: 1 oz/ 30 mL"


def test_the_container_description_replaces_a_summary_only_when_it_holds_it():
    head = '<meta property="og:type" content="product"><meta property="og:description" content="Light gel.">'
    body = (
        "<div><h1>Gel C</h1><span class='price'>$20.00</span>"
        "<div class='copy'><p>Light gel. With ten percent ascorbic acid.</p>"
        "<p>Kept in an opaque airless pump.</p></div></div>"
    )
    assert _page(body, head)["description"].startswith("Light gel. With ten")
    other = '<meta property="og:type" content="product"><meta property="og:description" content="Something else entirely.">'
    assert _page(body, other)["description"] == "Something else entirely."


@pytest.mark.parametrize(
    "body",
    [
        "<div><b>$20.00</b><p>Size: 30 ml</p></div>",  # no title
        "<h1></h1><b>$20.00</b>",
        "<h1>Big</h1><b>$9.00</b><div>" + "<p>Size matters. " + "x" * 1_000_000 + "</p></div>",
        "<h1>Odd<script>Size: 30 ml</script></h1><span>£5</span><table><tr><th>Size</th></tr></table>",
        "<h1>Nested</h1><b>€4.00</b>" + "<div>" * 500 + "Size: 15 ml" + "</div>" * 500,
        "<h1>Labels</h1><b>$1.00</b>" + "<dl><dt>Size</dt></dl>" * 2000,
    ],
)
def test_bad_pages_never_raise_and_stay_fast(body):
    started = time.monotonic()
    fields = _page(body)
    assert time.monotonic() - started < 5
    if fields is not None:
        assert fields["title"]
