"""The listing contract (docs/schema.md), declared once: the fields of a listing dict and of its
variants, which of them hold JSON, which the evaluator reads (and so feed the input hash), and the
columns the crawler, the relevance judgement and the store add.

The crawler builds listing dicts from these names, the store derives the ``listings`` and ``variants``
columns from them, the evaluator reads them. It lives here, at the bottom of the dependency order,
because every layer above needs it and the evaluator needs nothing above it.
"""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    name: str
    type: type  # str or int; lists are stored as JSON text
    is_list: bool = False  # a list of strings (JSON text in the database)
    read_by_evaluator: bool = False  # part of the input hash: a change re-scores the listing
    counted: bool = False  # a missing value is counted in the crawl's stats


# Who the listing is: set by the spider from the shop and the page.
IDENTITY_FIELDS: tuple[Field, ...] = (
    Field("id", str),
    Field("shop", str),
    Field("platform", str),
    Field("url", str),
    Field("canonical_id", str),
)

# What the shop says about the product.
CONTENT_FIELDS: tuple[Field, ...] = (
    Field("title", str, read_by_evaluator=True),
    Field("brand", str, counted=True),
    Field("description", str, read_by_evaluator=True, counted=True),
    Field("description_html", str),
    Field("ingredients_text", str, read_by_evaluator=True, counted=True),
    Field("details", str, read_by_evaluator=True),
    Field("image_alts", str, is_list=True, read_by_evaluator=True, counted=True),
    Field("tags", str, is_list=True, read_by_evaluator=True),
    Field("categories", str, is_list=True, read_by_evaluator=True, counted=True),
)

# Where each field came from ({"size": "json-ld", ...}): a JSON object.
PROVENANCE = "provenance"

# The relevance judgement (evaluator/categories.py relevance_columns).
RELEVANCE_FIELDS: tuple[Field, ...] = (
    Field("is_candidate", int),  # a vitamin C serum candidate
    Field("category", str),  # data/categories.toml id, or "other"
    Field("relevance_reason", str),
    Field("relevance_rule", str),
    Field("product_kind", str),
    Field("relevance_version", str),
)

# Time stamps, ISO 8601 UTC: the fetch by the crawler; the sightings by the store, which keeps them.
FETCHED_AT = "fetched_at"
SIGHTING_COLUMNS: dict[str, type] = {
    "first_seen": str,
    "last_seen": str,
    "last_run_id": int,
    "gone_since": str,
}
INPUT_HASH = "input_hash"

VARIANT_FIELDS: tuple[Field, ...] = (
    Field("title", str, read_by_evaluator=True, counted=False),
    Field("size_text", str, read_by_evaluator=True, counted=True),
    Field("price", str, read_by_evaluator=True, counted=True),  # a decimal string
    Field("regular_price", str, read_by_evaluator=True),
    Field("currency", str, read_by_evaluator=True, counted=True),
    Field("available", int, counted=True),
    Field("sku", str),
    # Product codes the shop gives (serumscope/store/products.py matches listings across shops by
    # them): a GTIN/EAN/UPC as given (validated when matched), a manufacturer part number.
    Field("gtin", str),
    Field("mpn", str),
)
VARIANT_IDENTITY: dict[str, type] = {"id": str, "listing_id": str, "position": int}

CONTENT_NAMES = tuple(f.name for f in CONTENT_FIELDS)
VARIANT_NAMES = tuple(f.name for f in VARIANT_FIELDS)
LIST_FIELDS = tuple(f.name for f in CONTENT_FIELDS if f.is_list)
# listings columns stored as JSON text; the listing dict holds them decoded.
JSON_COLUMNS = (*LIST_FIELDS, PROVENANCE)
HASHED_FIELDS = tuple(f.name for f in CONTENT_FIELDS if f.read_by_evaluator)
HASHED_VARIANT_FIELDS = tuple(f.name for f in VARIANT_FIELDS if f.read_by_evaluator)
COUNTED_FIELDS = tuple(f.name for f in CONTENT_FIELDS if f.counted)
COUNTED_VARIANT_FIELDS = tuple(f.name for f in VARIANT_FIELDS if f.counted)


def listing_columns() -> dict[str, type]:
    """The ``listings`` table's columns, in order."""
    return {
        **{f.name: f.type for f in IDENTITY_FIELDS + CONTENT_FIELDS},
        PROVENANCE: str,
        **{f.name: f.type for f in RELEVANCE_FIELDS},
        FETCHED_AT: str,
        **SIGHTING_COLUMNS,
        INPUT_HASH: str,
    }


def variant_columns() -> dict[str, type]:
    """The ``variants`` table's columns, in order."""
    return {
        **VARIANT_IDENTITY,
        **{f.name: f.type for f in VARIANT_FIELDS},
        "last_seen": str,
        "gone_since": str,
    }
