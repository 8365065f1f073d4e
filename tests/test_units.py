"""The unit factors the evaluator uses as constants are pint's own."""

import pytest

from evaluator import units


@pytest.mark.parametrize(("from_unit", "to_unit"), sorted(units.FACTORS))
def test_constant_factors_are_pints(from_unit, to_unit):
    expected = units.registry().Quantity(1, from_unit).to(to_unit).magnitude
    assert units.FACTORS[(from_unit, to_unit)] == pytest.approx(expected, rel=1e-12)


def test_every_unit_word_has_a_constant_factor():
    for name in units.UNIT_WORDS.values():
        to_unit = "milliliter" if name in units.VOLUME_UNITS else "gram"
        assert (name, to_unit) in units.FACTORS
