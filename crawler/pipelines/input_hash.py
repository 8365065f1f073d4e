"""Fingerprint what the evaluator reads, so scoring reruns only for listings whose inputs changed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from evaluator.listing import HASHED_FIELDS, HASHED_VARIANT_FIELDS


def input_hash(listing: dict[str, Any]) -> str:
    inputs = {field: listing.get(field) for field in HASHED_FIELDS}
    inputs["variants"] = [
        {field: variant.get(field) for field in HASHED_VARIANT_FIELDS}
        for variant in listing.get("variants") or []
    ]
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class InputHashPipeline:
    def process_item(self, item):
        item["input_hash"] = input_hash(item)
        return item
