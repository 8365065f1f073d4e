"""The demo shops' content: product files and day overrides read from ``data/demo_shops/``.

Every product lives in its own TOML file, ``data/demo_shops/<platform>/<slug>.toml``; the shops'
names and currencies are in ``shops.toml``; ``days/day<N>.toml`` holds what changes on day N
(prices, a reformulation, a product removed, a product added). docs/demo-shops.md has the format.
"""

from __future__ import annotations

import copy
import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serumscope.paths import DATA_DIR

DEMO_DATA_DIR = DATA_DIR / "demo_shops"
PLATFORMS = ("shopify", "woocommerce", "retailer")


class DemoDataError(ValueError):
    """A demo shop data file is malformed; the message names the file and the problem."""


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def stable_number(text: str, low: int, span: int) -> int:
    """A number derived from ``text`` that stays the same across runs (ids must not move)."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
    return low + int(digest[:12], 16) % span


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DemoDataError(f"{path}: {error}") from error


REQUIRED_PRODUCT_KEYS = ("title", "brand", "kind", "description", "variants", "expected")
# The category a product's `expected` names when it names none: candidates are vitamin C serums.
VITAMIN_C_SERUM, OTHER = "vitamin-c-serum", "other"


def load_product(path: Path, platform: str) -> dict[str, Any]:
    product = read_toml(path)
    missing = [key for key in REQUIRED_PRODUCT_KEYS if key not in product]
    if missing:
        raise DemoDataError(f"{path}: missing {', '.join(missing)}")
    if not product["variants"]:
        raise DemoDataError(f"{path}: needs at least one [[variants]] table")
    product["slug"] = path.stem
    product["platform"] = platform
    product["key"] = f"{platform}/{path.stem}"
    product.setdefault("tags", [])
    product.setdefault("images", [])
    product.setdefault("collections", [])
    product.setdefault("page", {})
    product.setdefault("published_at", "2025-06-01T09:00:00Z")
    product.setdefault("updated_at", product["published_at"])
    for variant in product["variants"]:
        variant.setdefault("available", True)
        variant.setdefault("compare_at_price", None)
    expected = product["expected"]
    expected.setdefault("category", VITAMIN_C_SERUM if expected.get("candidate") else OTHER)
    return product


@dataclass
class Catalog:
    """What the three shops show on one day."""

    day: int
    shops: dict[str, dict[str, Any]]
    products: dict[str, list[dict[str, Any]]]
    modified: dict[str, datetime] = field(default_factory=dict)

    def find(self, platform: str, slug: str) -> dict[str, Any] | None:
        for product in self.products[platform]:
            if product["slug"] == slug:
                return product
        return None

    def all_products(self) -> list[dict[str, Any]]:
        return [product for platform in PLATFORMS for product in self.products[platform]]


class CatalogShop:
    """A demo shop serving its platform's share of the catalog; `platform` names that share."""

    platform: str

    def __init__(self, catalog: Catalog) -> None:
        self.base_url = ""
        self.catalog = catalog

    @property
    def config(self) -> dict[str, Any]:
        return self.catalog.shops[self.platform]

    @property
    def products(self) -> list[dict[str, Any]]:
        return self.catalog.products[self.platform]


def load_day_files(root: Path) -> dict[int, dict[str, Any]]:
    days = {}
    for path in sorted((root / "days").glob("day*.toml")):
        number = path.stem.removeprefix("day")
        if not number.isdigit():
            raise DemoDataError(f"{path}: day files are named day<N>.toml")
        overrides = read_toml(path)
        overrides["_path"] = path
        days[int(number)] = overrides
    return days


def find_key(products: dict[str, dict[str, Any]], key: str, path: Path) -> dict[str, Any]:
    if key not in products:
        raise DemoDataError(f"{path}: no product {key!r} (expected '<platform>/<slug>')")
    return products[key]


def apply_day(products: dict[str, dict[str, Any]], overrides: dict[str, Any]) -> set[str]:
    """Apply one day's overrides in place; return the platforms whose content changed."""
    path = overrides["_path"]
    stamp = overrides.get("date")
    if not stamp:
        raise DemoDataError(f"{path}: needs a `date` (ISO 8601) for Last-Modified headers")
    touched = set()
    for change in overrides.get("prices", []):
        product = find_key(products, change["product"], path)
        variant = product["variants"][change.get("variant", 0)]
        variant["price"] = change["price"]
        if "compare_at_price" in change:
            variant["compare_at_price"] = change["compare_at_price"] or None
        product["updated_at"] = stamp
        touched.add(product["platform"])
    for change in overrides.get("ingredients", []):
        product = find_key(products, change["product"], path)
        product["ingredients"] = change["ingredients"]
        product["updated_at"] = stamp
        touched.add(product["platform"])
    for key in overrides.get("remove", []):
        touched.add(find_key(products, key, path)["platform"])
        del products[key]
    for key in overrides.get("add", []):
        product = find_key(products, key, path)
        product["published_at"] = product["updated_at"] = stamp
        touched.add(product["platform"])
    return touched


def build_catalog(day: int = 1, root: Path = DEMO_DATA_DIR) -> Catalog:
    """Read every product file and apply the overrides of days 2..``day``."""
    if day < 1:
        raise ValueError(f"days start at 1, not {day}")
    shops = read_toml(root / "shops.toml")
    days = load_day_files(root)
    products: dict[str, dict[str, Any]] = {}
    for platform in PLATFORMS:
        if platform not in shops:
            raise DemoDataError(f"{root / 'shops.toml'}: no [{platform}] table")
        for path in sorted((root / platform).glob("*.toml")):
            product = load_product(path, platform)
            products[product["key"]] = product
    later = {key for number, o in days.items() if number > day for key in o.get("add", [])}
    for key in later:
        products.pop(key, None)
    modified: dict[str, datetime] = {}
    for number in sorted(n for n in days if 2 <= n <= day):
        for platform in apply_day(products, days[number]):
            stamp = parse_time(days[number]["date"])
            modified[platform] = max(modified.get(platform, stamp), stamp)
    by_platform: dict[str, list[dict[str, Any]]] = {platform: [] for platform in PLATFORMS}
    for product in products.values():
        by_platform[product["platform"]].append(copy.deepcopy(product))
    for platform, items in by_platform.items():
        items.sort(key=lambda p: (p.get("position", 1000), p["slug"]))
        newest = max((parse_time(p["updated_at"]) for p in items), default=None)
        if newest and (platform not in modified or newest > modified[platform]):
            modified[platform] = newest
    return Catalog(day=day, shops=shops, products=by_platform, modified=modified)
