"""The serumscope database: one SQLite file. Every table, index, view, trigger and the full-text index
are declared as data (tables.py, history.py, site.py) and applied by one idempotent function
(schema.ensure_schema) on sqlite-utils; database.open_db opens it, database.transaction is the one way
to run a transaction, and every write passes the store boundary (rows.py).

The store knows SQLite and nothing of Scrapy, Datasette or the command line: the crawler, the
evaluation store, the runs and the site build on it. This module imports nothing heavy, so the
command line can name the default database without loading sqlite-utils.
"""

from pathlib import Path

DEFAULT_DB = Path(__file__).resolve().parents[2] / "data" / "serumscope.db"
