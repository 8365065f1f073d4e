"""What the CLI does with wrong input: clear errors before any work, and nothing a user has is lost."""

import json
import socket

import pytest
from click.testing import CliRunner
from conftest import free_port

from serumscope.cli import cli
from serumscope.commands.publishing import is_demo_database
from serumscope.store.database import open_db


def invoke(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def test_demo_refuses_to_replace_a_file_that_is_not_an_earlier_demo(tmp_path, demo_shops):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    crawled = tmp_path / "real.db"
    open_db(crawled)["shops"].insert({"name": "real", "base_url": "https://shop.example"})
    earlier_demo = tmp_path / "demo.db"
    open_db(earlier_demo)["shops"].insert_all(demo_shops.sites(), alter=True)

    assert not is_demo_database(notes)
    assert not is_demo_database(crawled)
    assert is_demo_database(earlier_demo)
    result = invoke("demo", "--db", notes, "--port", free_port())
    assert result.exit_code == 1
    assert "is not a demo database" in result.output
    assert notes.read_text() == "my notes"


def test_serve_says_the_port_is_taken_before_serving(tmp_path):
    db_path = tmp_path / "s.db"
    open_db(db_path).close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = invoke("serve", "--db", db_path, "--port", taken.getsockname()[1])
    assert result.exit_code == 1
    assert "cannot listen on 127.0.0.1" in result.output
    assert "serumscope site:" not in result.output


def test_serve_rejects_a_file_that_is_not_a_database(tmp_path):
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello " * 100)
    result = invoke("serve", "--db", not_a_db, "--port", free_port())
    assert result.exit_code == 1
    assert "not a serumscope database" in result.output
    assert not_a_db.read_text() == "hello " * 100


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_ports_out_of_range_are_usage_errors(command):
    result = invoke(command, "--port", 99999)
    assert result.exit_code == 2
    assert "99999" in result.output


def test_evaluate_does_not_create_a_missing_database(tmp_path):
    result = invoke("evaluate", "--db", tmp_path / "typo.db")
    assert result.exit_code == 1
    assert "no database at" in result.output
    assert not (tmp_path / "typo.db").exists()


def test_score_leaves_a_listing_that_is_not_a_vitamin_c_serum_unscored():
    result = invoke("score", "-", input=json.dumps({"title": "Niacinamide 10% + Zinc 1% Serum"}))
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.stdout)
    assert (evaluation["verdict"], evaluation["score"]) == ("not-scored", None)
    assert "not a vitamin C serum candidate" in evaluation["verdict_reason"]


def test_score_scores_a_vitamin_c_serum_and_warns_about_what_it_ignores():
    listing = {"title": "Vitamin C 15% Serum, amber glass, 30 ml", "titel": "x", "variants": "oops"}
    result = invoke("score", "-", input=json.dumps(listing))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] in ("recommend", "consider", "avoid")
    assert "unknown key 'titel' ignored" in result.stderr
    assert "'variants' should be a list" in result.stderr


@pytest.mark.parametrize("listing", [{}, {"title": "  "}, {"title": ["a"]}])
def test_score_needs_a_title(listing):
    result = invoke("score", "-", input=json.dumps(listing))
    assert result.exit_code == 1
    assert 'needs a "title"' in result.output


@pytest.mark.parametrize("url", ["127.0.0.1:8001", "not-a-url", "ftp://127.0.0.1/"])
def test_detect_wants_an_http_address(url):
    result = invoke("detect", url)
    assert result.exit_code == 1
    assert "http:// or https://" in result.output


def test_detect_says_when_a_shop_cannot_be_reached():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = invoke("detect", f"http://127.0.0.1:{port}/")
    assert result.exit_code == 1
    assert f"cannot reach http://127.0.0.1:{port}" in result.output


@pytest.mark.parametrize("command", [["run"], ["schedule", "--every", "1h"]])
def test_an_unknown_rubric_fails_before_any_crawl(tmp_path, command):
    db_path = tmp_path / "s.db"
    result = invoke(*command, "--rubric", "nope", "--db", db_path)
    assert result.exit_code == 2
    assert "no rubric named 'nope'" in result.output
    assert not db_path.exists()
