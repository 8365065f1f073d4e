"""Evaluating many listings in one transaction without the site's per-row triggers (store/bulk.py):
the same evaluations and site tables as the trigger path, and a kill mid-way changes nothing."""

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from site_fixtures import write_generated_listings, write_hostile_listing
from test_categories import JADE, PEN, ROLLER, SERUM, _store

from evaluator.rubrics import scored_rubrics
from serumscope import evaluation_store
from serumscope.evaluation_store import BULK_MIN_LISTINGS, evaluate_db
from serumscope.store.database import open_db, transaction
from serumscope.store.schema import refresh_site_tables
from serumscope.store.site import COUNTED_TABLES, SCORES

RUBRICS = [*scored_rubrics().values(), "extended"]
# Columns written with the time of the run: the same rows otherwise.
TIMES = {"evaluated_at", "changed_at", "id"}


def _rows(db_file: Path, table: str, where: str = "") -> list[tuple]:
    connection = sqlite3.connect(db_file)
    try:
        columns = [
            row[1]
            for row in connection.execute(f"pragma table_info([{table}])")
            if row[1] not in TIMES
        ]
        names = ", ".join(f"[{column}]" for column in columns)
        return connection.execute(
            f"SELECT {names} FROM [{table}] {where} ORDER BY {names}"
        ).fetchall()
    finally:
        connection.close()


def _site_tables(db_file: Path) -> dict[str, list[tuple]]:
    """What the site reads, and the evaluations it is computed from. Counts that fell to zero stay
    as rows under the triggers and are left out by a whole count: neither is shown."""
    tables = {"scores": _rows(db_file, "scores")}
    for name, (table, _) in COUNTED_TABLES.items():
        count = next(column for column in ("count", "listings") if column in table.columns)
        tables[name] = _rows(db_file, name, f"WHERE [{count}] > 0")
    for name in ("evaluations", "ingredients", "actives", "score_changes"):
        tables[name] = _rows(db_file, name)
    return tables


def _database(tmp_path: Path, listings: int) -> Path:
    """Generated serums, devices, another kind and a hostile listing, evaluated once for real."""
    db_file = tmp_path / "serumscope.db"
    db = open_db(db_file)
    write_generated_listings(db, listings)
    for listing in (ROLLER, PEN, JADE, SERUM):
        _store(db, listing)
    write_hostile_listing(db, with_evaluation=False)
    with transaction(db):
        db.execute(
            "UPDATE listings SET gone_since = '2026-01-02T00:00:00+00:00' WHERE rowid % 17 = 0"
        )
    evaluate_db(db, rubric=RUBRICS, jobs=1, bulk=False)
    db.close()
    return db_file


def _evaluated_both_ways(
    tmp_path: Path, db_file: Path, everything: bool, jobs: int = 2, statements: list | None = None
) -> tuple[dict, dict]:
    """Each side's count of listings evaluated and its site tables; ``statements`` gets the SQL the
    bulk side ran."""
    sides = {}
    for bulk in (False, True):
        copy = tmp_path / f"bulk-{bulk}.db"
        shutil.copy(db_file, copy)
        db = open_db(copy)
        if bulk and statements is not None:
            db.conn.set_trace_callback(statements.append)
        summary = evaluate_db(db, rubric=RUBRICS, everything=everything, jobs=jobs, bulk=bulk)
        db.close()
        sides[bulk] = (summary["evaluated"], _site_tables(copy))
    return sides[False], sides[True]


def _change_some_listings(db_file: Path) -> None:
    with sqlite3.connect(db_file) as connection:
        # changed listings: a new ingredient list, a serum that became a device, a price
        connection.execute(
            "UPDATE listings SET ingredients_text = 'Aqua, Ascorbic Acid, Glycerin',"
            " input_hash = 'changed' WHERE rowid % 9 = 1"
        )
        connection.execute(
            "UPDATE listings SET title = 'Derma Roller 540 Needles 0.5mm', category = NULL,"
            " relevance_version = NULL, input_hash = 'device now' WHERE rowid % 23 = 2"
        )
        connection.execute("UPDATE variants SET price = '99.00' WHERE rowid % 11 = 3")
        connection.execute(
            "UPDATE listings SET input_hash = 'priced'"
            " WHERE id IN (SELECT listing_id FROM variants WHERE rowid % 11 = 3)"
        )
    connection.close()


def test_evaluating_everything_in_bulk_gives_the_tables_the_triggers_give(tmp_path):
    db_file = _database(tmp_path, 300)
    _change_some_listings(db_file)
    (count, by_triggers), (bulk_count, in_bulk) = _evaluated_both_ways(tmp_path, db_file, True)
    assert count == bulk_count == 300 + 5
    assert len(by_triggers["scores"]) == count and len(by_triggers["score_changes"]) > count
    assert {row[list(SCORES.columns).index("rubric")] for row in by_triggers["scores"]} == {
        "post",
        "devices",
    }
    for table, rows in by_triggers.items():
        assert rows, table
        assert in_bulk[table] == rows, table


def test_evaluating_some_listings_in_bulk_gives_the_tables_the_triggers_give(tmp_path):
    db_file = _database(tmp_path, 120)
    _change_some_listings(db_file)
    (count, by_triggers), (bulk_count, in_bulk) = _evaluated_both_ways(tmp_path, db_file, False)
    assert 10 < count == bulk_count < 120
    for table, rows in by_triggers.items():
        assert in_bulk[table] == rows, table


def test_evaluating_in_several_bulk_transactions_gives_the_tables_the_triggers_give(
    tmp_path, monkeypatch
):
    db_file = _database(tmp_path, 300)
    _change_some_listings(db_file)
    # 305 listings in batches of 40, written 80 at a time: four transactions, none counting whole
    monkeypatch.setattr(evaluation_store, "BATCH_SIZE", 40)
    monkeypatch.setattr(evaluation_store, "BULK_TRANSACTION_LISTINGS", 80)
    statements: list[str] = []
    (count, by_triggers), (bulk_count, in_bulk) = _evaluated_both_ways(
        tmp_path, db_file, True, jobs=1, statements=statements
    )
    assert count == bulk_count == 305
    suspended = [s for s in statements if s.startswith("DROP TRIGGER IF EXISTS [scores_evaluation")]
    assert len(suspended) == 4 * 4  # four triggers suspended in each of the four transactions
    for table, rows in by_triggers.items():
        assert rows, table
        assert in_bulk[table] == rows, table


def test_the_bulk_path_restores_the_triggers_and_indexes_and_later_writes_keep_the_tables(tmp_path):
    db_file = _database(tmp_path, 40)
    db = open_db(db_file)
    schema = "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index')"
    before = sorted(db.execute(schema).fetchall())
    assert [row for row in before if row[1] == "scores_evaluation_insert"]
    evaluate_db(db, rubric=RUBRICS, everything=True, jobs=1, bulk=True)  # scores refilled whole
    assert sorted(db.execute(schema).fetchall()) == before
    # one listing written the usual way afterwards: the restored triggers keep its row current
    with transaction(db):
        db.execute("UPDATE evaluations SET verdict = 'avoid', score = 1 WHERE rubric = 'post'")
    assert {row[0] for row in db.execute("SELECT verdict FROM scores WHERE rubric = 'post'")} == {
        "avoid"
    }
    db.close()


def _measured_indexes(db, table: str) -> set[str]:
    return {row[0] for row in db.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = ?", [table])}


def test_scores_refilled_whole_keeps_the_query_planner_statistics_of_its_indexes(tmp_path):
    # made again after the rows, the indexes would lose them (DROP INDEX deletes them) until the
    # next ANALYZE, and SQLite would read every scores row where an index lets it skip
    db_file = _database(tmp_path, 40)
    db = open_db(db_file)
    db.execute("ANALYZE")
    indexes = {index.name for index in db["scores"].indexes}
    assert _measured_indexes(db, "scores") == indexes
    evaluate_db(db, rubric=RUBRICS, everything=True, jobs=1, bulk=True)  # scores refilled whole
    assert _measured_indexes(db, "scores") == indexes
    db.close()


def test_an_index_made_on_opening_an_analyzed_database_is_analyzed(tmp_path):
    db_file = _database(tmp_path, 40)
    db = open_db(db_file)
    db.execute("ANALYZE")
    shop_index = next(i.name for i in db["listings"].indexes if i.columns == ["shop"])
    db.execute(f"DROP INDEX [{shop_index}]")  # as a database from before that index has it
    db.close()
    db = open_db(db_file)
    assert shop_index in _measured_indexes(db, "listings")
    db.close()


def test_an_evaluation_updated_in_place_or_moved_keeps_the_scores_rows_of_both_listings(tmp_path):
    db_file = _database(tmp_path, 40)
    db = open_db(db_file)
    first, second = [
        row[0]
        for row in db.execute(
            "SELECT listing_id FROM evaluations WHERE rubric = 'post' AND verdict != 'not-scored'"
            " ORDER BY listing_id LIMIT 2"
        )
    ]
    with transaction(db):
        db.execute(
            "UPDATE evaluations SET score = 3, verdict = 'avoid' WHERE listing_id = ?", [first]
        )
        db.execute("DELETE FROM evaluations WHERE listing_id = ? AND rubric = 'post'", [second])
        db.execute(
            "UPDATE evaluations SET listing_id = ? WHERE listing_id = ? AND rubric = 'post'",
            [second, first],
        )
    db.close()
    kept = _site_tables(db_file)
    db = open_db(db_file)
    refresh_site_tables(db)  # every row computed again from listings and evaluations
    db.close()
    assert _site_tables(db_file) == kept
    moved = {row[0]: row[1:] for row in kept["scores"] if row[0] in (first, second)}
    verdict = list(SCORES.columns).index("verdict") - 1
    assert moved[first][verdict] is None  # its post evaluation left: no verdict
    assert moved[second][verdict] == "avoid"


@pytest.mark.parametrize("bulk", [False, True])
def test_ingredient_rows_that_differ_from_the_evaluation_are_written_again(tmp_path, bulk):
    db_file = _database(tmp_path, 40)
    evaluated = _rows(db_file, "ingredients")
    with sqlite3.connect(db_file) as connection:
        connection.execute("DELETE FROM ingredients WHERE rowid % 7 = 0")
        connection.execute("UPDATE ingredients SET canonical = 'stale' WHERE rowid % 5 = 0")
        connection.execute("UPDATE ingredients SET known = 1 - known WHERE rowid % 6 = 0")
        connection.execute(
            "INSERT INTO ingredients (listing_id, position, raw, canonical, known)"
            " SELECT id, 999, 'Stale', 'stale', 0 FROM listings WHERE rowid % 3 = 0"
        )
    connection.close()
    assert _rows(db_file, "ingredients") != evaluated
    db = open_db(db_file)
    evaluate_db(db, rubric=RUBRICS, everything=True, jobs=1, bulk=bulk)
    db.close()
    assert _rows(db_file, "ingredients") == evaluated


def _write_locked(db_file: Path) -> bool:
    connection = sqlite3.connect(db_file, timeout=0)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def test_killing_a_bulk_evaluation_mid_way_leaves_the_database_as_it_was(tmp_path):
    db_file = _database(tmp_path, BULK_MIN_LISTINGS)
    before = _site_tables(db_file)
    command = [str(Path(sys.executable).with_name("serumscope")), "evaluate", "--db", str(db_file)]
    process = subprocess.Popen(
        [*command, "--all", "--jobs", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not _write_locked(db_file):  # the bulk transaction has begun
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    wal = db_file.with_name(db_file.name + "-wal")
    while wal.stat().st_size < 2_000_000:  # batches written (spilled to the WAL)
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _site_tables(db_file) == before
    done = subprocess.run([*command, "--all", "--jobs", "2"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"scored {BULK_MIN_LISTINGS + 5} of {BULK_MIN_LISTINGS + 5}" in done.stdout
    after = _site_tables(db_file)
    assert after["scores"] == before["scores"] and after["evaluations"] == before["evaluations"]
