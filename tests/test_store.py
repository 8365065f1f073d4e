"""The database opens idempotently, in WAL mode, even when several processes create it at once; the
store boundary keeps out what SQLite or JSON cannot hold."""

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serumscope.store.database import open_db
from serumscope.store.rows import (
    is_finite_number,
    storable_json,
    storable_row,
    storable_value,
    storable_values,
)
from serumscope.store.tables import TABLES
from serumscope.store.writers import _column_value, bound_rows


def test_open_db_twice_keeps_rows(tmp_path):
    db = open_db(tmp_path / "s.db")
    db["shops"].insert({"name": "a", "platform": "shopify", "base_url": "http://127.0.0.1:1"})
    again = open_db(tmp_path / "s.db")
    assert again["shops"].count == 1
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert set(TABLES) <= set(again.table_names())


def test_concurrent_first_opens_all_succeed(tmp_path):
    path = tmp_path / "fresh.db"
    code = "import sys; from serumscope.store.database import open_db; open_db(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    failures = [p.stderr.read() for p in processes if p.wait() != 0]
    assert failures == []
    assert open_db(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize(
    ("value", "finite"),
    [(1, True), (2.5, True), ("24.50", True), (" 7 ", True), (Decimal("1e6"), True),
     (float("inf"), False), (float("nan"), False), ("1e999", False), ("Infinity", False),
     ("NaN", False), (Decimal("1e999"), False), ("", False), ("abc", False), (True, False),
     (None, False), ([1], False)],
)  # fmt: skip
def test_is_finite_number(value, finite):
    assert is_finite_number(value) is finite


def test_storable_row_cleans_what_sqlite_and_json_cannot_hold():
    row = {"title": "C \ud800 serum", "score": float("inf"), "price": "1e999", "regular": "24.50",
           "facts": {"usd": [float("nan"), 1.5]}, "pair": ("a", "b"), "none": None}  # fmt: skip
    clean, invalid = storable_row(row, number_columns=("price", "regular"))
    assert clean == {"title": "C \ufffd serum", "score": None, "price": None, "regular": "24.50",
                     "facts": {"usd": [None, 1.5]}, "pair": ("a", "b"), "none": None}  # fmt: skip
    assert sorted(invalid) == ["facts", "price", "score", "title"]
    assert storable_json({"x": float("-inf"), "y": "\udfff"}) == '{"x": null, "y": "\ufffd"}'


def _check_storable_json(value):
    try:
        expected = json.dumps(storable_value(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        with pytest.raises(type(error)):
            storable_json(value)
        return
    assert storable_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [{"n": [2**63, -(2**63) - 1, 2**63 - 1]}, {True: 1, None: 2, "true": 3, 1.5: 4},
     {"a": ["\ud800"]}, {"d": Decimal("1.10")}, [float("nan")], ("x", {"y": 10**30}),
     {"ok": [1, 2.5, "text", None, {"k": False}]}],
)  # fmt: skip
def test_storable_json_is_the_json_of_the_storable_value(value):
    """Its shortcut (encode first, walk only when needed) gives the text the walk gives."""
    _check_storable_json(value)


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
    st.decimals(), st.text(alphabet=st.characters(codec=None)),
)  # fmt: skip
_KEYS = st.one_of(st.text(), st.sampled_from(["true", "null"]), st.integers(), st.booleans(),
                  st.none(), st.floats())  # fmt: skip


@given(
    st.recursive(
        _SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(_KEYS, inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_storable_json_is_the_json_of_the_storable_value_for_any(value):
    _check_storable_json(value)


@given(st.lists(st.tuples(_SCALARS, _SCALARS, _SCALARS), max_size=5))
def test_storable_values_are_the_storable_value_of_each_row(rows):
    assert storable_values(rows) == [storable_value(row) for row in rows]


_ROW_VALUES = st.one_of(
    _SCALARS, st.lists(_SCALARS, max_size=2), st.dictionaries(st.text(), _SCALARS, max_size=2)
)


@given(
    st.lists(
        st.fixed_dictionaries({"a": _ROW_VALUES, "b": _ROW_VALUES, "c": _SCALARS}),
        min_size=1,
        max_size=5,
    )
)
def test_bound_rows_bind_the_storable_value_of_each_row(rows):
    """The writer's shortcut (flat values checked kind by kind, bound as they are) binds what the
    store boundary would have given, value for value."""
    columns = tuple(rows[0])
    expected = [
        tuple(_column_value(row[column]) for column in columns) for row in storable_values(rows)
    ]
    bound = bound_rows(rows)
    assert sorted(bound.columns) == ["a", "b", "c"]
    assert bound.columns == columns
    assert bound.values == expected
