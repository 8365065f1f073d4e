"""Where serumscope's data files live.

The project runs from its checkout (``pip install -e .``): rules, vocabularies, demo shop content and the
default database all sit in the top-level ``data/`` folder, the Datasette configuration in ``datasette/``.
"""

from pathlib import Path

from crawler.sites import DEFAULT_SITES
from serumscope.store import DEFAULT_DB

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DATASETTE_DIR = REPO_ROOT / "datasette"

__all__ = ["DATASETTE_DIR", "DATA_DIR", "DEFAULT_DB", "DEFAULT_SITES", "REPO_ROOT"]
