"""Where serumscope's data files live.

The project runs from its checkout (``pip install -e .``): rules, vocabularies, demo shop content and the
default database all sit in the top-level ``data/`` folder, the Datasette configuration in ``datasette/``.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DATASETTE_DIR = REPO_ROOT / "datasette"
DEFAULT_DB = DATA_DIR / "serumscope.db"
DEFAULT_SITES = DATA_DIR / "sites.toml"
