"""The database opens idempotently, in WAL mode, even when several processes create it at once; the
store boundary keeps out what SQLite or JSON cannot hold."""

import subprocess
import sys
from decimal import Decimal

import pytest

from serumscope.store.database import open_db
from serumscope.store.rows import is_finite_number, storable_json, storable_row
from serumscope.store.tables import TABLES


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
