"""The one pint registry of serumscope, and the unit words shops write.

pint reads "1 fl oz" as femtolitre x ounce, so shop wording is mapped to pint's own unit names first.
The factors the readers need are constants checked against pint by a test; pint is only imported for
any other conversion.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any


@cache
def registry() -> Any:
    """serumscope's pint UnitRegistry, built on first use (pint takes ~0.2 s to import and build)."""
    import pint

    return pint.UnitRegistry()


# shop wording (lower case, dots and spaces removed) -> pint unit name
UNIT_WORDS: dict[str, str] = {
    "ml": "milliliter",
    "millilitre": "milliliter",
    "milliliter": "milliliter",
    "millilitres": "milliliter",
    "milliliters": "milliliter",
    "cl": "centiliter",
    "l": "liter",
    "litre": "liter",
    "liter": "liter",
    "floz": "fluid_ounce",
    "fluidounce": "fluid_ounce",
    "fluidounces": "fluid_ounce",
    "flounce": "fluid_ounce",
    "flounces": "fluid_ounce",
    "oz": "fluid_ounce",
    "ounce": "fluid_ounce",
    "ounces": "fluid_ounce",
    "g": "gram",
    "gr": "gram",
    "gram": "gram",
    "grams": "gram",
    "gramme": "gram",
    "grammes": "gram",
    "mg": "milligram",
    "kg": "kilogram",
}

VOLUME_UNITS = {"milliliter", "centiliter", "liter", "fluid_ounce"}
MASS_UNITS = {"gram", "milligram", "kilogram"}
# Needle lengths: shop wording for these is data (data/vocab/devices.toml [length.units]).
LENGTH_UNITS = {"millimeter", "centimeter", "inch"}

_SQUASH = re.compile(r"[\s.]+")


def unit_name(shop_unit: str) -> str | None:
    """pint's name for a unit as a shop writes it ("fl. oz." -> "fluid_ounce"), or None."""
    return UNIT_WORDS.get(_SQUASH.sub("", shop_unit.lower()))


# The factors the readers use, as constants: building pint's registry costs ~0.25 s of start-up.
# tests/test_units.py checks each against pint.
FACTORS: dict[tuple[str, str], float] = {
    ("milliliter", "milliliter"): 1.0,
    ("centiliter", "milliliter"): 10.0,
    ("liter", "milliliter"): 1000.0,
    ("fluid_ounce", "milliliter"): 29.5735295625,  # US fluid ounce
    ("gram", "gram"): 1.0,
    ("milligram", "gram"): 0.001,
    ("kilogram", "gram"): 1000.0,
    ("milligram / milliliter", "gram / deciliter"): 0.1,
    ("millimeter", "millimeter"): 1.0,
    ("centimeter", "millimeter"): 10.0,
    ("inch", "millimeter"): 25.4,
}


@lru_cache(maxsize=64)
def factor(from_unit: str, to_unit: str) -> float:
    """How many ``to_unit`` one ``from_unit`` is (pint names): a constant, else computed by pint."""
    known = FACTORS.get((from_unit, to_unit))
    if known is not None:
        return known
    return float(registry().Quantity(1, from_unit).to(to_unit).magnitude)
