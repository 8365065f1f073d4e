"""A database written before the store package (serumscope at 07ffc34, tests/fixtures/db_07ffc34.sql)
opens with today's store in place: every row kept, every trigger, view and index current, history and
search still working."""

import json
import sqlite3
from pathlib import Path

import pytest

from serumscope.store.database import open_db
from serumscope.store.schema import TRIGGERS, VIEWS
from serumscope.store.tables import SEARCH_TABLES, TABLES

FIXTURE = Path(__file__).parent / "fixtures" / "db_07ffc34.sql"


def table_rows(conn: sqlite3.Connection) -> dict[str, list[dict]]:
    conn.row_factory = sqlite3.Row
    names = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith((*SEARCH_TABLES, "sqlite_"))
    ]
    return {name: [dict(row) for row in conn.execute(f"SELECT * FROM [{name}]")] for name in names}


@pytest.fixture
def old_database(tmp_path):
    path = tmp_path / "serumscope.db"
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text())
    conn.close()
    return path


def test_every_row_of_an_old_database_is_kept(old_database):
    before = table_rows(sqlite3.connect(old_database))
    assert before["listings"] and before["variant_history"] and before["score_changes"]
    db = open_db(old_database)
    after = table_rows(sqlite3.connect(old_database))
    db.close()
    # scores rows are derived: computed again, with today's price bands, for the same listings
    scores = before.pop("scores")
    assert [r["listing_id"] for r in after["scores"]] == [r["listing_id"] for r in scores]
    assert [r["price_band"] for r in after["scores"]] == ["around $30"]
    for table, rows in before.items():
        columns = set(rows[0]) if rows else set()
        kept = [{c: v for c, v in row.items() if c in columns} for row in after[table]]
        assert sorted(map(repr, kept)) == sorted(map(repr, rows)), table


def test_an_old_database_gets_every_declared_object_and_keeps_working(old_database):
    db = open_db(old_database)
    assert set(TABLES) <= set(db.table_names())
    assert set(VIEWS) <= set(db.view_names())
    triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert set(TRIGGERS) <= triggers
    error_keys = next(i for i in db["crawl_errors"].indexes if i.columns == ["error_key"])
    assert error_keys.unique
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    open_db(old_database).close()
    assert db.execute("PRAGMA schema_version").fetchone()[0] == version

    history_before = db["variant_history"].count
    db["variants"].update("glowjar:1:11", {"price": "21.00"})
    assert db["variant_history"].count == history_before + 1
    drops = [(r["old_price"], r["new_price"]) for r in db.query("SELECT * FROM price_drops")]
    assert ("24.00", "21.00") in drops
    db["evaluations"].update(("glowjar:1", "post"), {"score": 90, "verdict": "recommend"})
    score = db.execute("SELECT score, verdict FROM scores WHERE listing_id = 'glowjar:1'")
    assert score.fetchone() == (90, "recommend")
    hits = db.execute("SELECT count(*) FROM listings_fts WHERE listings_fts MATCH 'ethyl'")
    assert hits.fetchone() == (1,)
    names = [row[0] for row in db.execute("SELECT name FROM scores")]
    found = db.execute("SELECT count(*) FROM scores_fts WHERE name LIKE ?", [f"%{names[0][1:6]}%"])
    assert found.fetchone()[0] == sum(names[0][1:6].lower() in name.lower() for name in names) > 0
    db.close()


def test_columns_derived_at_evaluation_are_filled_in_an_older_database(tmp_path):
    """A database evaluated before ``order_contradictions`` and ``shortfalls`` existed gets them,
    as the evaluator writes them today, when it is opened."""
    from serumscope.evaluation_store import evaluate_db

    path = tmp_path / "serumscope.db"
    db = open_db(path)
    contradicted = {
        "title": "Bright Vitamin C Face Serum",
        "description": "Supercharged with 20% Vitamin C.",
        "ingredients_text": "Aqua, Glycerin, Xanthan Gum, Phenoxyethanol, "
        "Sodium Ascorbyl Phosphate, Citric Acid",
    }
    plain = {"title": "Daily Vitamin C Serum", "ingredients_text": "Aqua, Ascorbic Acid"}
    for number, listing in enumerate([contradicted, plain]):
        db["listings"].insert({"id": f"shop:{number}", "shop": "shop", **listing})
    evaluate_db(db)
    derived = "SELECT listing_id, order_contradictions, shortfalls FROM evaluations ORDER BY 1"
    written = db.execute(derived).fetchall()
    flags = db.execute("SELECT listing_id, order_contradicted FROM scores ORDER BY 1").fetchall()
    assert json.loads(written[0][1])[0]["active"] and written[1][1] is None
    assert written[0][2] and flags == [("shop:0", 1), ("shop:1", 0)]
    db.close()

    conn = sqlite3.connect(path)  # as a database written before the columns existed
    for kind, name in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')"
    ).fetchall():  # views too: SQLite checks every view when a column is dropped
        conn.execute(f"DROP {kind.upper()} [{name}]")
    conn.execute("DROP TABLE scores")
    for column in ("order_contradictions", "shortfalls"):
        conn.execute(f"ALTER TABLE evaluations DROP COLUMN {column}")
    conn.commit()
    conn.close()

    db = open_db(path)
    filled = db.execute(derived).fetchall()
    assert [(i, r and json.loads(r), s) for i, r, s in filled] == [
        (i, r and json.loads(r), s) for i, r, s in written
    ]
    assert (
        db.execute("SELECT listing_id, order_contradicted FROM scores ORDER BY 1").fetchall()
        == flags
    )
