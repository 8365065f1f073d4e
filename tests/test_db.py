"""The database opens idempotently, in WAL mode, even when several processes create it at once."""

import subprocess
import sys

from serumscope.db import TABLES, open_db


def test_open_db_twice_keeps_rows(tmp_path):
    db = open_db(tmp_path / "s.db")
    db["shops"].insert({"name": "a", "platform": "shopify", "base_url": "http://127.0.0.1:1"})
    again = open_db(tmp_path / "s.db")
    assert again["shops"].count == 1
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert set(TABLES) <= set(again.table_names())


def test_concurrent_first_opens_all_succeed(tmp_path):
    path = tmp_path / "fresh.db"
    code = "import sys; from serumscope.db import open_db; open_db(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    failures = [p.stderr.read() for p in processes if p.wait() != 0]
    assert failures == []
    assert open_db(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
