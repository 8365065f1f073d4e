"""Example-table tests: one parametrised test per parser over raw text -> expected rows in
tests/examples/. The held-out tables were written before tuning; they only have to clear a floor."""

from pathlib import Path

import pytest
from example_tables import CHECKERS, accuracy, load_cases

EXAMPLES = Path(__file__).parent / "examples"
MINIMUM_CASES = {"inci": 40, "percentages": 80, "packaging": 50, "sizes": 40}
HELD_OUT_FLOOR = 0.8


def _params(kind: str):
    return [
        pytest.param(case, id=f"{kind}-{i}-{case['text'][:40]}")
        for i, case in enumerate(load_cases(EXAMPLES / f"{kind}.toml"))
    ]


@pytest.mark.parametrize("kind", sorted(MINIMUM_CASES))
def test_tables_are_big_enough(kind):
    assert len(load_cases(EXAMPLES / f"{kind}.toml")) >= MINIMUM_CASES[kind]


@pytest.mark.parametrize("case", _params("inci"))
def test_inci_lists(case):
    expected, got = CHECKERS["inci"](case)
    assert got == expected


@pytest.mark.parametrize("case", _params("percentages"))
def test_percentage_phrases(case):
    expected, got = CHECKERS["percentages"](case)
    assert got == expected


@pytest.mark.parametrize("case", _params("packaging"))
def test_packaging_phrases(case):
    expected, got = CHECKERS["packaging"](case)
    assert got == expected


@pytest.mark.parametrize("case", _params("sizes"))
def test_size_strings(case):
    expected, got = CHECKERS["sizes"](case)
    assert got == expected


@pytest.mark.parametrize("kind", sorted(MINIMUM_CASES))
def test_held_out_accuracy_floor(kind):
    right, total, wrong = accuracy(kind, EXAMPLES / f"heldout_{kind}.toml")
    assert total >= 10
    assert right / total >= HELD_OUT_FLOOR, wrong
