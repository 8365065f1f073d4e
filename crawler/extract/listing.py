"""Assemble the listing dict of docs/schema.md from extracted fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

LISTING_FIELDS = (
    "title",
    "brand",
    "description",
    "description_html",
    "ingredients_text",
    "details",
    "image_alts",
    "tags",
    "categories",
)
VARIANT_FIELDS = (
    "title",
    "size_text",
    "price",
    "regular_price",
    "currency",
    "available",
    "sku",
)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def make_listing(
    *,
    shop: str,
    platform: str,
    url: str,
    canonical_id: str,
    fields: dict[str, Any],
    provenance: dict[str, str],
    variants: list[dict[str, Any]],
    fetched_at: str | None = None,
) -> dict[str, Any]:
    """The listing dict: known keys only, empty values as None, variants with ids and positions."""
    listing_id = f"{shop}:{canonical_id}"
    listing: dict[str, Any] = {
        "id": listing_id,
        "shop": shop,
        "platform": platform,
        "url": url,
        "canonical_id": str(canonical_id),
    }
    for name in LISTING_FIELDS:
        value = fields.get(name)
        listing[name] = value if value not in ("", [], {}) else None
    listing["provenance"] = {
        k: v
        for k, v in provenance.items()
        if listing.get(k) is not None
        or (k == "size" and any(raw.get("size_text") for raw in variants))
    }
    listing["fetched_at"] = fetched_at or utc_now()
    listing["variants"] = []
    used_ids: set[str] = set()
    for position, raw in enumerate(variants):
        key = raw.get("variant_id") or raw.get("sku") or position
        variant_id = f"{listing_id}:{key}"
        if variant_id in used_ids:
            variant_id = f"{listing_id}:{position}"
        used_ids.add(variant_id)
        variant = {"id": variant_id, "listing_id": listing_id, "position": position}
        for name in VARIANT_FIELDS:
            value = raw.get(name)
            variant[name] = value if value != "" else None
        listing["variants"].append(variant)
    if variants and "variants" not in listing["provenance"] and provenance.get("variants"):
        listing["provenance"]["variants"] = provenance["variants"]
    return listing
