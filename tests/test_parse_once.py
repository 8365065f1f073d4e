"""Price, size, currency symbols and the "Ingredients:" label are read by one module each (the
evaluator's), so what the crawler stores is what the evaluator judges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crawler.extract import money as crawler_money
from crawler.extract.fields import size_in
from crawler.extract.ingredients import find_ingredients_in_html
from evaluator import money
from evaluator.inci import parse_ingredients
from evaluator.size import size_facts

SIZE_TEXTS = [
    ".5 oz",
    "0.5 oz/ 15 mL",
    "SIZE 0.5 oz/ 15 mL\u2022ITEM 1234567",
    "2 x 0.33 oz/ 10 mL",
    "Twin pack 2 x 15 ml",
    "1.7 fl. oz (50 ml)",
    "50ML",
    "Mini 1,5 oz",
    "30 ml / 1 fl oz",
    "Default Title",
]


@pytest.mark.parametrize("text", SIZE_TEXTS)
def test_the_size_the_crawler_keeps_is_the_size_the_evaluator_reads(text):
    whole = size_facts([("size_text", text)])
    kept = size_in(text)
    read = size_facts([("size_text", kept)] if kept else [])
    assert (read["ml"], read["kind"]) == (whole["ml"], whole["kind"])


PRICE_TEXTS = ["$24.50", "24,50 €", "£1,299.00", "USD 12", "12.00 GBP", "kr 120", "1e2", "sold out"]


@pytest.mark.parametrize("text", PRICE_TEXTS)
def test_the_price_the_crawler_keeps_is_the_price_the_evaluator_reads(text):
    stored = crawler_money.decimal_string(text)
    judged = money.parse_amount(text)
    assert stored == (format(judged, "f") if judged is not None else None)
    assert crawler_money.currency_from_text(text) == money.currency_from_text(text)
    if stored is not None:
        priced = money.variant_price({"price": stored, "currency": None}, 0)
        assert Decimal(priced["amount_text"]) == Decimal(stored)


def test_currency_symbols_come_from_one_table():
    assert money.currency_from_text("€12") == "EUR"
    assert money.currency_from_text("£5.20") == "GBP"
    assert money.currency_from_text("A$30") == "AUD"
    assert money.currency_from_text("12.00 CHF") == "CHF"
    assert money.currency_from_text("12.00") is None


@pytest.mark.parametrize(
    "label",
    ["Ingredients:", "INGREDIENTS:", "Full Ingredients List:", "Ingredients (INCI):", "INCI:",
     "Complete ingredient list:"],
)  # fmt: skip
def test_the_ingredients_label_is_one_label(label):
    listed = "Aqua, Ascorbic Acid, Glycerin, Tocopherol"
    found = find_ingredients_in_html(f"<p>Bright.</p><p>{label} {listed}</p>")
    assert found is not None and listed in found.text
    parsed = parse_ingredients({"description": f"Bright serum.\n{label} {listed}"})
    assert [i["canonical"] for i in parsed["items"]][:2] == ["water", "ascorbic acid"]
