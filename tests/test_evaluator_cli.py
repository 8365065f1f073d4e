"""`serumscope score` and `serumscope evaluate` against real files and a real SQLite database."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from evaluator import load_rubric
from evaluator.vocab import vocabulary_version
from serumscope.cli import cli
from serumscope.evaluation_store import evaluate_db
from serumscope.store.database import open_db
from serumscope.store.tables import TABLES

POST_VERSION = str(load_rubric("post")["version"])

SERUM = {
    "id": "glowjar:c20",
    "shop": "glowjar",
    "title": "C20 Serum - 20% Vitamin C",
    "description": "20% L-ascorbic acid with 1% vitamin E and 0.5% ferulic acid, in an amber glass bottle.",
    "ingredients_text": "Water, Ascorbic Acid, Propylene Glycol, Tocopherol, Ferulic Acid, Phenoxyethanol",
    "image_alts": ["C20 amber bottle"],
    "tags": ["vitamin c"],
    "is_candidate": 1,
    "input_hash": "hash-1",
}


def _store(db, listing: dict, variants: list[dict]) -> None:
    db["shops"].upsert(
        {"name": listing["shop"], "platform": "shopify", "base_url": "http://127.0.0.1"}, pk="name"
    )
    row = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in listing.items()}
    db["listings"].upsert(row, pk="id")
    for i, variant in enumerate(variants):
        db["variants"].upsert(
            {"id": f"{listing['id']}:{i}", "listing_id": listing["id"], "position": i, **variant},
            pk="id",
        )


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "serumscope.db"
    db = open_db(path)
    _store(db, SERUM, [{"title": "30 ml", "price": "32.00", "currency": "USD"}])
    _store(
        db,
        {
            "id": "glowjar:shampoo",
            "shop": "glowjar",
            "title": "Vitamin C Shine Shampoo",
            "is_candidate": 0,
            "input_hash": "s",
        },
        [{"title": "250 ml", "price": "12.00", "currency": "USD"}],
    )
    db.conn.close()
    return path


def test_score_reads_a_file_and_prints_the_evaluation(tmp_path):
    listing_file = tmp_path / "listing.json"
    listing_file.write_text(
        json.dumps({**SERUM, "variants": [{"title": "30 ml", "price": "32.00", "currency": "USD"}]})
    )
    result = CliRunner().invoke(cli, ["score", str(listing_file)])
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.output)
    assert evaluation["listing_id"] == "glowjar:c20"
    assert evaluation["verdict"] == "recommend"
    assert {c["id"] for c in evaluation["breakdown"]} == {
        "light_protection",
        "active_percentages",
        "price_value",
    }


def test_score_reads_stdin_in_a_real_process():
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from serumscope.cli import cli; cli()",
            "score",
            "--rubric",
            "extended",
            "--compact",
            "-",
        ],
        input=json.dumps({"title": "Vitamin C (15%) serum, 1 fl oz"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    evaluation = json.loads(completed.stdout)
    assert evaluation["rubric"] == "extended"
    assert evaluation["facts"]["vitamin_c"]["percent"] == 15.0


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "not valid JSON"), ("[1, 2]", "expected one listing as a JSON object")],
)
def test_score_rejects_bad_input_clearly(text, message):
    result = CliRunner().invoke(cli, ["score", "-"], input=text)
    assert result.exit_code == 1
    assert message in result.output


def test_score_rejects_an_unknown_rubric():
    result = CliRunner().invoke(cli, ["score", "--rubric", "nope", "-"], input='{"title": "x"}')
    assert result.exit_code == 1
    assert "no rubric named 'nope'" in result.output


def test_evaluate_writes_tables_and_skips_unchanged(db_path):
    runner = CliRunner()
    first = runner.invoke(cli, ["evaluate", "--db", str(db_path)])
    assert first.exit_code == 0, first.output
    assert "scored 2 of 2 listings" in first.output and "1 not-scored" in first.output
    db = open_db(db_path)
    rows = {r["listing_id"]: r for r in db["evaluations"].rows}
    serum = rows["glowjar:c20"]
    assert serum["verdict"] == "recommend" and serum["score"] == 100
    assert (
        serum["light"] == "protective"
        and serum["size_ml"] == 30.0
        and serum["price_per_30ml"] == 32.0
    )
    assert json.loads(serum["vitamin_c_forms"]) == ["L-ascorbic acid"]
    assert serum["vitamin_c_percent"] == 20.0
    assert serum["price_per_gram_vitamin_c"] == pytest.approx(32 / 6, abs=0.01)
    assert serum["input_hash"] == "hash-1" and serum["rubric_version"] == POST_VERSION
    assert (
        rows["glowjar:shampoo"]["verdict"] == "not-scored"
        and rows["glowjar:shampoo"]["score"] is None
    )
    ingredients = list(
        db.query(
            "select position, raw, canonical, known from ingredients where listing_id = 'glowjar:c20' order by position"
        )
    )
    assert [i["canonical"] for i in ingredients][:2] == ["water", "ascorbic acid"]
    actives = {
        (a["active"], a["percent"])
        for a in db["actives"].rows_where("listing_id = ?", ["glowjar:c20"])
    }
    assert {("vitamin_c", 20.0), ("vitamin_e", 1.0), ("ferulic_acid", 0.5)} <= actives
    evidence_texts = [
        a["evidence_text"] for a in db["actives"].rows_where("listing_id = ?", ["glowjar:c20"])
    ]
    assert "20% L-ascorbic acid" in evidence_texts

    second = runner.invoke(cli, ["evaluate", "--db", str(db_path)])
    assert "scored 0 of 2 listings (2 unchanged)" in second.output

    db["listings"].update("glowjar:c20", {"input_hash": "hash-2", "title": "C20 Serum"})
    db.conn.commit()
    third = runner.invoke(cli, ["evaluate", "--db", str(db_path)])
    assert "scored 1 of 2 listings (1 unchanged)" in third.output
    assert db["actives"].count_where("listing_id = ?", ["glowjar:c20"]) == len(actives)

    everything = runner.invoke(
        cli, ["evaluate", "--db", str(db_path), "--rubric", "extended", "--all"]
    )
    assert everything.exit_code == 0 and "scored 2 of 2" in everything.output
    assert db["evaluations"].count == 4


def test_evaluate_db_reports_progress(db_path):
    done = []
    summary = evaluate_db(open_db(db_path), rubric="post", progress=done.append)
    assert sum(done) == summary["evaluated"] == 2
    assert summary["verdicts"] == {"recommend": 1, "not-scored": 1}


def test_a_new_rubric_version_rescores_everything(db_path):
    db = open_db(db_path)
    assert evaluate_db(db, rubric="post")["evaluated"] == 2
    assert evaluate_db(db, rubric="post")["evaluated"] == 0
    db.execute("update evaluations set rubric_version = '0.9' where listing_id = 'glowjar:c20'")
    db.conn.commit()
    summary = evaluate_db(db, rubric="post")
    assert summary["evaluated"] == 1 and summary["unchanged"] == 1
    assert (
        db.execute(
            "select rubric_version from evaluations where listing_id = 'glowjar:c20'"
        ).fetchone()[0]
        == POST_VERSION
    )


def test_evaluations_made_with_other_vocabularies_are_scored_again(db_path):
    db = open_db(db_path)
    evaluate_db(db, rubric="post")
    stored = db.execute("select distinct vocabulary_version from evaluations").fetchall()
    assert stored == [(vocabulary_version(),)]
    db.execute(
        "update evaluations set vocabulary_version = 'edited' where listing_id = 'glowjar:c20'"
    )
    db.execute("update listings set relevance_version = '3' where id = 'glowjar:shampoo'")
    db.conn.commit()
    summary = evaluate_db(db, rubric="post")
    assert summary["evaluated"] == 1 and summary["rejudged"] == 1
    assert db.execute("select count(distinct relevance_version) from listings").fetchone()[0] == 1


def test_the_vocabulary_fingerprint_covers_every_vocabulary_and_the_rates(tmp_path, monkeypatch):
    import evaluator.vocab as vocab

    (tmp_path / "vocab").mkdir()
    for name in ("vocab/a.toml", "vocab/b.toml", "exchange_rates.toml"):
        (tmp_path / name).write_text("version = 1\n")
    monkeypatch.setattr(vocab, "DATA_DIR", tmp_path)
    monkeypatch.setattr(vocab, "VOCAB_DIR", tmp_path / "vocab")
    vocab.data_version.cache_clear()
    before = vocab.vocabulary_version()
    for name in ("vocab/b.toml", "exchange_rates.toml"):
        (tmp_path / name).write_text("version = 1\n# an edit, version not bumped\n")
        vocab.data_version.cache_clear()
        after = vocab.vocabulary_version()
        assert after != before, name
        before = after
    vocab.data_version.cache_clear()


def test_load_rubric_returns_a_copy():
    from evaluator import evaluate, load_rubric

    rubric = load_rubric("post")
    rubric["criteria"].clear()
    assert len(evaluate({"title": "x"})["breakdown"]) == 3


def test_score_accepts_a_database_row_with_json_text_columns():
    row = {
        "title": "Vitamin C serum",
        "image_alts": '["Serum in an amber glass bottle"]',
        "tags": "not json",
    }
    result = CliRunner().invoke(cli, ["score", "-"], input=json.dumps(row))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["facts"]["light"]["value"] == "protective"


def test_a_change_of_candidacy_rescores_the_listing(db_path):
    db = open_db(db_path)
    evaluate_db(db, rubric="post")

    def verdict(listing_id):
        return db.execute(
            "select verdict from evaluations where listing_id = ? and rubric = 'post'", [listing_id]
        ).fetchone()[0]

    assert verdict("glowjar:c20") == "recommend"
    assert verdict("glowjar:shampoo") == "not-scored"
    db.execute("update listings set is_candidate = 0, category = 'other' where id = 'glowjar:c20'")
    db.execute(
        "update listings set is_candidate = 1, category = 'vitamin-c-serum' where id = 'glowjar:shampoo'"
    )
    db.conn.commit()
    summary = evaluate_db(db, rubric="post")
    assert summary["evaluated"] == 2
    assert verdict("glowjar:c20") == "not-scored"
    assert verdict("glowjar:shampoo") in {"recommend", "consider", "avoid"}
    assert evaluate_db(db, rubric="post")["evaluated"] == 0


def test_worker_processes_write_what_one_process_writes(tmp_path, monkeypatch):
    """--jobs 2 over several batches: workers read and score, this process writes the same rows."""
    import serumscope.evaluation_store as evaluation_store

    monkeypatch.setattr(evaluation_store, "BATCH_SIZE", 2)  # five batches from nine listings
    tables = {}
    for jobs in (1, 2):
        db = open_db(tmp_path / f"jobs{jobs}.db")
        for i in range(9):
            listing = {**SERUM, "id": f"glowjar:c{i}", "title": f"C{i} Serum - {10 + i}% Vitamin C"}
            _store(db, listing, [{"title": f"{10 + i} ml", "price": "32.00", "currency": "USD"}])
        done = []
        summary = evaluate_db(db, rubric="post", progress=done.append, jobs=jobs)
        assert summary["evaluated"] == sum(done) == 9 and done == [2, 2, 2, 2, 1]
        columns = ", ".join(c for c in TABLES["evaluations"].columns if c != "evaluated_at")
        tables[jobs] = [
            db.execute(f"select {columns} from evaluations order by listing_id").fetchall(),
            db.execute("select * from ingredients order by listing_id, position").fetchall(),
            db.execute("select * from actives order by listing_id, active, form").fetchall(),
        ]
        assert all(tables[jobs])
    assert tables[1] == tables[2]


def test_evaluate_many_gives_what_evaluate_gives_for_each_rubric():
    from evaluator import evaluate, evaluate_many

    priced = {**SERUM, "variants": [{"title": "30 ml", "price": "32.00", "currency": "USD"}]}
    for listing in (SERUM, priced, {"title": None}, "not a dict"):
        results = evaluate_many(listing, ["post", "devices", "extended", None])
        expected = [evaluate(listing, r) for r in ("post", "devices", "extended", None)]
        assert [json.dumps(r, sort_keys=True) for r in results] == [
            json.dumps(r, sort_keys=True) for r in expected
        ]
    with pytest.raises(ValueError):
        evaluate_many(SERUM, ["post", "no-such-rubric"])


def test_evaluate_db_with_several_rubrics_stores_what_one_rubric_at_a_time_stores(tmp_path):
    tables, summaries = {}, {}
    for way in ("one at a time", "together"):
        db = open_db(tmp_path / f"{way}.db")
        for i in range(5):
            listing = {**SERUM, "id": f"glowjar:c{i}", "is_candidate": i % 2}
            _store(db, listing, [{"title": f"{10 + i} ml", "price": "32.00", "currency": "USD"}])
        if way == "together":
            evaluate_db(db, rubric="post", jobs=1)  # post is then due for none, extended for all
            db.execute("update listings set input_hash = 'changed' where id = 'glowjar:c3'")
            db.conn.commit()
            summaries[way] = evaluate_db(db, rubric=["post", "extended"], jobs=1)
        else:
            evaluate_db(db, rubric="post", jobs=1)
            db.execute("update listings set input_hash = 'changed' where id = 'glowjar:c3'")
            db.conn.commit()
            summaries[way] = [evaluate_db(db, rubric=r, jobs=1) for r in ("post", "extended")]
        columns = ", ".join(c for c in TABLES["evaluations"].columns if c != "evaluated_at")
        tables[way] = [
            db.execute(f"select {columns} from evaluations order by listing_id, rubric").fetchall(),
            db.execute("select * from ingredients order by listing_id, position").fetchall(),
            db.execute("select * from actives order by listing_id, active, form").fetchall(),
        ]
    assert tables["together"] == tables["one at a time"]
    assert len(tables["together"][0]) == 10
    together, (post, extended) = summaries["together"], summaries["one at a time"]
    assert together["evaluated"] == 5 and together["unchanged"] == 0
    for name, alone in (("post", post), ("extended", extended)):
        alone = {k: v for k, v in alone.items() if k != "seconds"}
        assert together["rubrics"][name] == alone
    assert together["rubrics"]["post"]["evaluated"] == 1
