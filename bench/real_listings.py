"""Rows of ../shared/data/real_listings/ (read at run time, never copied) and their stable keys.

Every bench that measures the project on real listings reads them through here, so a row has one key
(``hid``) everywhere: the labelled set in bench/labels/ stores only keys and labels.
"""

from __future__ import annotations

import ast
import csv
import hashlib
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_listings"
ALL_ROWS = "vitc_listings_all.csv"


def row_key(row: dict) -> str:
    """A short stable key: the source and a hash of brand + name (no listing text is kept)."""
    digest = hashlib.sha1(f"{row.get('brand', '')}|{row.get('name', '')}".encode()).hexdigest()
    return f"{row.get('source_dataset', '')[:12]}-{digest[:10]}"


def read_rows(folder: Path = DEFAULT_FOLDER, name: str = ALL_ROWS) -> list[dict] | None:
    """The rows of one CSV with their ``hid``, or None when the folder is not there."""
    path = Path(folder) / name
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["hid"] = row_key(row)
    return rows


def joined_text(value: str) -> str:
    """A Python-list string ("['Water, ...']") back to the text a shop page shows."""
    value = (value or "").strip()
    if value.startswith("[") and value.endswith("]"):
        try:
            parts = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        if isinstance(parts, list):
            # a part ending in ":" names the next product of a kit; other parts continue one list
            return "".join(
                f"{p}\n" if str(p).rstrip().endswith(":") else f"{p} " for p in parts
            ).strip()
    return value


def categories(row: dict) -> list[str]:
    """The row's category path as a shop's breadcrumb would show it."""
    text = row.get("category") or ""
    return [part.strip() for part in text.split(">") if part.strip()]


def listing_from_row(row: dict) -> dict:
    """The listing a crawler would build from the row's page (docs/schema.md keys)."""
    price = row.get("price_raw") or row.get("price_usd") or ""
    return {
        "id": f"real:{row.get('hid') or row_key(row)}",
        "title": row.get("name") or "",
        "brand": row.get("brand") or None,
        "description": joined_text(row.get("highlights_or_description") or "") or None,
        "ingredients_text": joined_text(row.get("ingredients_text") or "") or None,
        "categories": categories(row),
        "variants": [
            {
                "position": 0,
                "title": row.get("size_text") or "Default Title",
                "price": price.replace("USD", "").replace("GBP", "").strip() or None,
                "currency": row.get("currency") or "USD",
            }
        ],
    }
