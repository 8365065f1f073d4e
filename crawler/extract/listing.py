"""Assemble the listing dict of docs/schema.md from extracted fields."""

from __future__ import annotations

from typing import Any

from evaluator.listing import CONTENT_NAMES, VARIANT_NAMES
from serumscope.store.clock import utc_now

__all__ = ["make_listing", "utc_now"]


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
    for name in CONTENT_NAMES:
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
        for name in VARIANT_NAMES:
            value = raw.get(name)
            variant[name] = value if value != "" else None
        listing["variants"].append(variant)
    if variants and "variants" not in listing["provenance"] and provenance.get("variants"):
        listing["provenance"]["variants"] = provenance["variants"]
    return listing
