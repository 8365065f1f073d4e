"""History triggers and views on a real SQLite file, written the way the crawler and evaluator write."""

from __future__ import annotations

import sqlite3

import pytest

from serumscope.store.database import open_db
from serumscope.store.history import HISTORY_TRIGGERS, HISTORY_VIEWS
from serumscope.store.schema import ensure_schema


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "history.db")
    yield database
    database.close()


def start_run(db, run_id: int, finished: bool = True, status: str = "ok") -> None:
    db["crawl_runs"].insert(
        {
            "id": run_id,
            "started_at": f"2026-01-0{run_id}T00:00:00Z",
            "finished_at": f"2026-01-0{run_id}T00:10:00Z" if finished else None,
            "status": status if finished else "running",
        }
    )


def store(db, run_id: int, listing: dict, variants: list[dict]) -> None:
    """Upsert like the crawler's storage pipeline: listing first, then its variants."""
    shop = listing["id"].split(":")[0]
    db["shops"].upsert({"name": shop, "platform": "shopify"}, pk="name")
    db["listings"].upsert(
        {"shop": shop, "last_run_id": run_id, "last_seen": f"2026-01-0{run_id}", **listing},
        pk="id",
    )
    db["variants"].upsert_all(
        [{"listing_id": listing["id"], "position": i, **v} for i, v in enumerate(variants)],
        pk="id",
    )


def evaluate(db, listing_id: str, score: int, verdict: str, version: str = "1") -> None:
    db["evaluations"].upsert(
        {
            "listing_id": listing_id,
            "rubric": "post",
            "rubric_version": version,
            "score": score,
            "verdict": verdict,
        },
        pk=("listing_id", "rubric"),
    )


SERUM = {"id": "glow:1", "title": "Glow C 20%", "ingredients_text": "Water, Ascorbic Acid"}
VARIANT_30 = {
    "id": "glow:1:a",
    "title": "30 ml",
    "price": "29.00",
    "currency": "USD",
    "available": 1,
}
VARIANT_60 = {
    "id": "glow:1:b",
    "title": "60 ml",
    "price": "49.00",
    "currency": "USD",
    "available": 1,
}


def history(db, table: str, order: str = "id") -> list[dict]:
    return list(db.query(f"SELECT * FROM {table} ORDER BY {order}"))


def test_first_sight_records_each_variant_once(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30, VARIANT_60])

    rows = history(db, "variant_history")
    assert [(r["variant_id"], r["price"], r["change"], r["run_id"]) for r in rows] == [
        ("glow:1:a", "29.00", "new", 1),
        ("glow:1:b", "49.00", "new", 1),
    ]
    events = history(db, "listing_events")
    assert [(e["listing_id"], e["event"], e["run_id"], e["shop"]) for e in events] == [
        ("glow:1", "appeared", 1, "glow")
    ]


def test_unchanged_recrawl_adds_no_history(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30, VARIANT_60])
    evaluate(db, "glow:1", 80, "recommend")
    counts = {t: db[t].count for t in ("variant_history", "score_changes", "listing_events")}

    start_run(db, 2)
    store(db, 2, SERUM, [VARIANT_30, VARIANT_60])
    evaluate(db, "glow:1", 80, "recommend")

    assert {t: db[t].count for t in counts} == counts
    assert db["ingredient_changes"].count == 0
    assert db["listing_changes"].count == 0


def test_price_and_availability_changes_are_recorded_with_their_run(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30, VARIANT_60])
    start_run(db, 2)
    store(db, 2, SERUM, [{**VARIANT_30, "price": "24.50"}, {**VARIANT_60, "available": 0}])

    changes = list(db.query("SELECT * FROM variant_changes WHERE change = 'changed' ORDER BY id"))
    assert [
        (
            c["variant_id"],
            c["old_price"],
            c["new_price"],
            c["old_available"],
            c["new_available"],
            c["run_id"],
        )
        for c in changes
    ] == [("glow:1:a", "29.00", "24.50", 1, 1, 2), ("glow:1:b", "49.00", "49.00", 1, 0, 2)]

    drops = list(db.query("SELECT * FROM price_drops"))
    assert len(drops) == 1
    drop = drops[0]
    assert (drop["variant_id"], drop["old_price"], drop["new_price"]) == (
        "glow:1:a",
        "29.00",
        "24.50",
    )
    assert (drop["drop_amount"], drop["drop_percent"], drop["listing_title"]) == (
        4.5,
        15.5,
        "Glow C 20%",
    )


def test_price_rise_is_history_but_not_a_drop(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30])
    start_run(db, 2)
    store(db, 2, SERUM, [{**VARIANT_30, "price": "31.00"}])
    assert db["variant_history"].count == 2
    assert list(db.query("SELECT * FROM price_drops")) == []


def test_deleting_and_reinserting_variants_keeps_history_exact(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30])
    start_run(db, 2)
    db.execute("DELETE FROM variants WHERE listing_id = 'glow:1'")
    db.conn.commit()
    store(db, 2, SERUM, [VARIANT_30])
    assert db["variant_history"].count == 1
    db.execute("DELETE FROM variants WHERE listing_id = 'glow:1'")
    db.conn.commit()
    store(db, 2, SERUM, [{**VARIANT_30, "price": "19.99"}])
    assert [r["price"] for r in history(db, "variant_history")] == ["29.00", "19.99"]


def test_reformulation_keeps_old_and_new_ingredient_text(db):
    start_run(db, 1)
    store(db, 1, {**SERUM, "ingredients_text": None}, [VARIANT_30])
    start_run(db, 2)
    store(db, 2, SERUM, [VARIANT_30])
    start_run(db, 3)
    store(db, 3, {**SERUM, "ingredients_text": "Water, Sodium Ascorbyl Phosphate"}, [VARIANT_30])

    rows = history(db, "ingredient_changes")
    assert [(r["kind"], r["old_text"], r["new_text"], r["run_id"]) for r in rows] == [
        ("found", None, "Water, Ascorbic Acid", 2),
        ("changed", "Water, Ascorbic Acid", "Water, Sodium Ascorbyl Phosphate", 3),
    ]


def test_other_listing_fields_keep_their_old_value(db):
    start_run(db, 1)
    store(db, 1, {**SERUM, "is_candidate": 1}, [VARIANT_30])
    start_run(db, 2)
    store(db, 2, {**SERUM, "title": "Glow C 20% Serum", "is_candidate": 1}, [VARIANT_30])
    rows = history(db, "listing_changes")
    assert [(r["field"], r["old_value"], r["new_value"], r["run_id"]) for r in rows] == [
        ("title", "Glow C 20%", "Glow C 20% Serum", 2)
    ]


def test_score_changes_record_old_and_new(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30])
    evaluate(db, "glow:1", 55, "consider")
    start_run(db, 2)
    store(db, 2, SERUM, [VARIANT_30])
    evaluate(db, "glow:1", 82, "recommend", version="2")

    rows = history(db, "score_changes")
    assert [
        (
            r["old_score"],
            r["new_score"],
            r["old_verdict"],
            r["new_verdict"],
            r["new_rubric_version"],
        )
        for r in rows
    ] == [(None, 55, None, "consider", "1"), (55, 82, "consider", "recommend", "2")]
    assert rows[1]["run_id"] == 2
    recommended = list(
        db.query("SELECT listing_id, score, previous_verdict FROM new_recommendations")
    )
    assert recommended == [{"listing_id": "glow:1", "score": 82, "previous_verdict": "consider"}]


def test_replacing_an_evaluation_row_records_only_real_changes(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30])
    row = {"listing_id": "glow:1", "rubric": "post", "rubric_version": "1", "score": 40}
    db["evaluations"].insert({**row, "verdict": "avoid"}, replace=True)
    db["evaluations"].insert({**row, "verdict": "avoid"}, replace=True)
    assert db["score_changes"].count == 1


def test_gone_and_back_events(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30])
    start_run(db, 2)
    db.execute("UPDATE listings SET gone_since = '2026-01-02T00:10:00Z' WHERE id = 'glow:1'")
    db.conn.commit()
    start_run(db, 3)
    store(db, 3, {**SERUM, "gone_since": None}, [VARIANT_30])

    events = history(db, "listing_events")
    assert [(e["event"], e["run_id"]) for e in events] == [
        ("appeared", 1),
        ("gone", 2),
        ("back", 3),
    ]
    assert events[1]["occurred_at"] == "2026-01-02T00:10:00Z"


def test_recent_changes_shows_only_runs_after_the_previous_completed_one(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30])
    store(db, 1, {"id": "glow:2", "title": "Other C"}, [])
    start_run(db, 2)
    store(
        db,
        2,
        {**SERUM, "ingredients_text": "Water, Ethyl Ascorbic Acid"},
        [{**VARIANT_30, "price": "25.00"}],
    )
    db.execute("UPDATE listings SET gone_since = '2026-01-02T00:10:00Z' WHERE id = 'glow:2'")
    db.conn.commit()

    rows = list(db.query("SELECT change, listing_id, old_value, new_value FROM recent_changes"))
    assert sorted((r["change"], r["listing_id"], r["old_value"], r["new_value"]) for r in rows) == [
        ("gone", "glow:2", None, None),
        ("ingredients", "glow:1", "Water, Ascorbic Acid", "Water, Ethyl Ascorbic Acid"),
        ("price", "glow:1", "29.00", "25.00"),
    ]

    keys = [
        (r["run_id"], r["changed_at"], r["listing_id"])
        for r in db.query("SELECT run_id, changed_at, listing_id FROM recent_change_rows")
    ]
    assert keys == sorted(keys, reverse=True)
    # read in the order of the run indexes, merged: a page of them sorts nothing
    plan = [
        r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM recent_change_rows LIMIT 50")
    ]
    assert not any("TEMP B-TREE" in step for step in plan), plan

    start_run(db, 3)
    store(
        db,
        3,
        {**SERUM, "ingredients_text": "Water, Ethyl Ascorbic Acid"},
        [{**VARIANT_30, "price": "25.00"}],
    )
    assert list(db.query("SELECT * FROM recent_changes")) == []


def test_schema_is_idempotent_and_writes_nothing_when_current(db):
    before = db.execute("PRAGMA schema_version").fetchone()[0]
    ensure_schema(db)
    open_db(db.conn.execute("PRAGMA database_list").fetchone()[2]).close()
    assert db.execute("PRAGMA schema_version").fetchone()[0] == before
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert set(HISTORY_TRIGGERS) <= names
    assert set(HISTORY_VIEWS) <= names


def test_a_changed_trigger_definition_is_replaced(db):
    db.execute("DROP VIEW price_drops")
    db.execute("CREATE VIEW price_drops AS SELECT 1 AS stale")
    db.conn.commit()
    ensure_schema(db)
    columns = [c[1] for c in db.execute("PRAGMA table_info(price_drops)")]
    assert "drop_percent" in columns


def test_history_added_to_an_existing_database_starts_from_its_current_prices(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE listings (id TEXT PRIMARY KEY, shop TEXT, title TEXT, last_run_id INTEGER);
        CREATE TABLE variants (id TEXT PRIMARY KEY, listing_id TEXT, price TEXT, available INTEGER);
        INSERT INTO listings VALUES ('old:1', 'old', 'Old C', 4);
        INSERT INTO variants VALUES ('old:1:a', 'old:1', '12.00', 1);
        """
    )
    conn.commit()
    conn.close()
    db = open_db(path)
    rows = history(db, "variant_history")
    assert [(r["variant_id"], r["price"], r["run_id"]) for r in rows] == [("old:1:a", "12.00", 4)]
    db.close()


def test_integrity_after_history_writes(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30, VARIANT_60])
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_column_added_to_a_history_table_reaches_existing_databases(tmp_path):
    path = tmp_path / "older.db"
    db = open_db(path)
    db.execute("ALTER TABLE runs DROP COLUMN timings")
    db.conn.commit()
    assert "timings" not in db["runs"].columns_dict
    ensure_schema(db)
    assert "timings" in db["runs"].columns_dict
    db.close()


def test_a_failed_run_does_not_push_the_last_good_runs_changes_out_of_recent_changes(db):
    start_run(db, 1)
    store(db, 1, SERUM, [VARIANT_30])
    start_run(db, 2)
    store(db, 2, SERUM, [{**VARIANT_30, "price": "27.00"}])
    start_run(db, 3, status="failed")
    start_run(db, 4, finished=False)
    rows = list(db.query("SELECT run_id, change, new_value FROM recent_changes"))
    assert rows == [{"run_id": 2, "change": "price", "new_value": "27.00"}]


def test_a_currency_switch_is_recorded_but_is_not_a_price_drop(tmp_path):
    db = open_db(tmp_path / "h.db")
    db["listings"].insert({"id": "s:1", "shop": "s", "title": "C serum", "last_run_id": 1})
    variant = {"id": "s:1:a", "listing_id": "s:1", "price": "30.00", "currency": "USD"}
    db["variants"].insert(variant)
    db["variants"].update("s:1:a", {"price": "25.00", "currency": "GBP"})
    db["variants"].update("s:1:a", {"price": "20.00"})
    history = [
        (r["price"], r["currency"]) for r in db.query("select * from variant_history order by id")
    ]
    assert history == [("30.00", "USD"), ("25.00", "GBP"), ("20.00", "GBP")]
    drops = [(r["old_price"], r["new_price"]) for r in db.query("select * from price_drops")]
    assert drops == [("25.00", "20.00")]
