"""The sites file: one ``[[shop]]`` table per shop (docs/crawling.md).

``load_sites(path)`` reads and validates it; every error names the file, the shop and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_SITES = Path(__file__).resolve().parent.parent / "data" / "sites.toml"
BUILTIN_PLATFORMS = ("shopify", "woocommerce", "sitemap")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# field -> (type, required)
FIELDS: dict[str, tuple[type, bool]] = {
    "name": (str, True),
    "platform": (str, True),
    "base_url": (str, True),
    "collections": (list, False),
    "search": (list, False),
    "sitemap_urls": (list, False),
    "product_url_patterns": (list, False),
    "currency": (str, False),
    "enabled": (bool, False),
}


class SitesError(ValueError):
    """A sites file that cannot be used, with the reason a person can act on."""


def _is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def validate_shop(shop: Any, where: str, known_platforms: set[str] | None = None) -> dict:
    """Check one shop table; ``where`` prefixes every error (file and shop)."""
    if not isinstance(shop, dict):
        raise SitesError(f"{where}: each [[shop]] must be a table, got {type(shop).__name__}")
    for field, (kind, required) in FIELDS.items():
        if field not in shop:
            if required:
                raise SitesError(f"{where}: missing required field {field!r}")
            continue
        if not isinstance(shop[field], kind):
            raise SitesError(
                f"{where}: field {field!r} must be a {kind.__name__}, got {shop[field]!r}"
            )
        if kind is list and not all(isinstance(v, str) and v.strip() for v in shop[field]):
            raise SitesError(f"{where}: field {field!r} must be a list of non-empty strings")
    unknown = sorted(set(shop) - set(FIELDS))
    if unknown:
        raise SitesError(
            f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})"
        )
    if not NAME_PATTERN.match(shop["name"]):
        raise SitesError(
            f"{where}: field 'name' must use only a-z, 0-9 and '-', got {shop['name']!r}"
        )
    platforms = known_platforms if known_platforms is not None else set(BUILTIN_PLATFORMS)
    if shop["platform"] not in platforms:
        raise SitesError(
            f"{where}: field 'platform' is {shop['platform']!r}; "
            f"expected one of {', '.join(sorted(platforms))}"
        )
    if not _is_http_url(shop["base_url"]):
        raise SitesError(
            f"{where}: field 'base_url' must be an http(s) URL, got {shop['base_url']!r}"
        )
    for url in shop.get("sitemap_urls", []):
        if not _is_http_url(url):
            raise SitesError(f"{where}: field 'sitemap_urls' has a non-http(s) URL {url!r}")
    for pattern in shop.get("product_url_patterns", []):
        try:
            re.compile(pattern)
        except re.error as error:
            raise SitesError(
                f"{where}: field 'product_url_patterns' has a bad regex {pattern!r}: {error}"
            ) from None
    return {**shop, "base_url": shop["base_url"].rstrip("/")}


def spider_names() -> set[str]:
    """Every spider name a shop may use as its platform (built-in and custom)."""
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    from crawler import settings as crawler_settings

    settings = get_project_settings()
    settings.setmodule(crawler_settings, priority="project")
    return set(SpiderLoader.from_settings(settings).list())


def load_sites(path: str | Path, known_platforms: set[str] | None = None) -> list[dict]:
    """Read and validate a sites file; disabled shops (``enabled = false``) are left out."""
    import tomllib  # here, not at the top: the command line names DEFAULT_SITES without reading it

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SitesError(f"{path}: no such sites file") from None
    except tomllib.TOMLDecodeError as error:
        raise SitesError(f"{path}: not valid TOML: {error}") from None
    shops = data.get("shop", [])
    if not isinstance(shops, list):
        raise SitesError(f"{path}: 'shop' must be an array of tables ([[shop]])")
    if known_platforms is None:
        known_platforms = set(BUILTIN_PLATFORMS)
        named = {shop.get("platform") for shop in shops if isinstance(shop, dict)}
        if not named <= known_platforms:  # custom spiders: importing them all is not free
            known_platforms |= spider_names()
    seen: set[str] = set()
    result = []
    for index, shop in enumerate(shops, start=1):
        label = shop.get("name") if isinstance(shop, dict) else None
        where = f"{path}: shop #{index}" + (f" ({label!r})" if label else "")
        checked = validate_shop(shop, where, known_platforms)
        if checked["name"] in seen:
            raise SitesError(f"{where}: field 'name' {checked['name']!r} is used twice")
        seen.add(checked["name"])
        if checked.get("enabled", True):
            result.append(checked)
    return result
