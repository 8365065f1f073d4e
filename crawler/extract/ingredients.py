"""Find the ingredient list in a product page or description HTML.

Shops put it under a heading ("Ingredients", "Full ingredient list", "INCI"), in a tab whose button
points at a panel, in an accordion (``<details>``), in a definition/table row, or inline as
"Ingredients: Aqua, ...". The text is returned raw (whatever the shop wrote around the list stays), with
the HTML fragment it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
from lxml import etree

from crawler.extract.label_scan import Labels, label_texts
from crawler.extract.text import element_text, parse_fragment
from evaluator.labels import INGREDIENTS_HEADING, INGREDIENTS_INLINE, INGREDIENTS_START

LABEL_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "summary", "button", "dt", "th", "strong", "b",
    "label", "a", "span", "li", "p", "div", "td", "legend",
}  # fmt: skip
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
INLINE_TAGS = {"strong", "b", "span", "em", "label"}
MIN_LENGTH = 8


@dataclass
class FoundIngredients:
    text: str
    html: str
    how: str


def _own_label(element: etree._Element) -> str | None:
    text = element.text_content() if hasattr(element, "text_content") else ""
    text = " ".join(text.split())
    return text if len(text) <= 60 else None


def _panel_for(element: etree._Element, root: etree._Element) -> etree._Element | None:
    target = element.get("aria-controls") or element.get("data-target") or ""
    href = element.get("href") or ""
    if not target and href.startswith("#"):
        target = href
    target = target.lstrip("#")
    if not target:
        return None
    found = root.xpath("//*[@id=$id]", id=target)
    return found[0] if found else None


def _siblings_until_heading(element: etree._Element) -> list[etree._Element]:
    collected = []
    for sibling in element.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        if sibling.tag in HEADING_TAGS or sibling.tag == "summary":
            break
        collected.append(sibling)
    return collected


def _fragment(elements: list[etree._Element]) -> tuple[str, str]:
    html = "".join(
        lxml.html.tostring(e, encoding="unicode", with_tail=False) for e in elements
    ).strip()
    text = "\n".join(t for t in (element_text(e) for e in elements) if t).strip()
    return text, html


def _content_after_label(label: etree._Element, root: etree._Element) -> FoundIngredients | None:
    tag = label.tag
    if tag == "summary":
        details = label.getparent()
        if details is not None:
            text, html = _fragment(_siblings_until_heading(label))
            if len(text) >= MIN_LENGTH:
                return FoundIngredients(text, html, "details")
    panel = _panel_for(label, root)
    if panel is not None:
        text, html = _fragment([panel])
        if len(text) >= MIN_LENGTH:
            return FoundIngredients(text, html, "tab")
    if tag in ("dt", "th"):
        for sibling in label.itersiblings():
            if isinstance(sibling.tag, str) and sibling.tag in ("dd", "td"):
                text, html = _fragment([sibling])
                if len(text) >= MIN_LENGTH:
                    return FoundIngredients(text, html, "definition")
                break
    if tag in INLINE_TAGS and (label.tail or "").strip(" :\n\t"):
        parent = label.getparent()
        rest = (label.tail or "").lstrip(" :\t\n")
        following = [s for s in label.itersiblings() if isinstance(s.tag, str)]
        more = "".join(lxml.html.tostring(s, encoding="unicode", with_tail=True) for s in following)
        fragment = parse_fragment(rest + more)
        text = element_text(fragment) if fragment is not None else rest.strip()
        if len(text) >= MIN_LENGTH:
            html = lxml.html.tostring(parent, encoding="unicode", with_tail=False)
            return FoundIngredients(text, html, "inline")
    node = label
    for _ in range(3):
        following = _siblings_until_heading(node)
        if following:
            text, html = _fragment(following)
            if len(text) >= MIN_LENGTH:
                return FoundIngredients(text, html, "heading")
            return None
        node = node.getparent()
        if node is None or node is root:
            return None
    return None


def find_labelled_section(
    root: etree._Element,
    heading: re.Pattern[str],
    candidates: list[tuple[etree._Element, str]],
    inline: list[etree._Element] | None = None,
) -> FoundIngredients | None:
    """The content under the first label matching ``heading`` (a heading, tab, accordion, table
    or definition row), looking only at the ``candidates`` (``label_scan.label_texts``). Elements
    whose own text starts with an ingredients label are added to ``inline`` when it is given."""
    examined: set[etree._Element] = set()
    for node, text in candidates:
        if inline is not None and INGREDIENTS_START.match(text):
            inline.append(node)
        for _ in range(3):
            if node is None or node in examined or not isinstance(node.tag, str):
                break
            examined.add(node)
            if node.tag in LABEL_TAGS and node.getparent() is not None:
                label = _own_label(node)
                if label is None:
                    break
                if heading.match(label):
                    found = _content_after_label(node, root)
                    if found:
                        return found
                    break
            node = node.getparent()
    return None


def find_ingredients_in_tree(
    root: etree._Element, labels: Labels | None = None
) -> FoundIngredients | None:
    """The first ingredient list found under an ingredients label in an lxml tree (``labels``: the
    page's ``label_texts``, when the caller has them)."""
    labels = labels if labels is not None else label_texts(root, ("ingredients",))
    inline: list[etree._Element] = []
    found = find_labelled_section(root, INGREDIENTS_HEADING, labels["ingredients"], inline)
    if found:
        return found
    for element in inline:
        if element.tag not in ("p", "li", "div", "td", "span", "dd") or len(element) >= 20:
            continue
        text = element_text(element)
        if INGREDIENTS_INLINE.match(text):
            return FoundIngredients(
                text, lxml.html.tostring(element, encoding="unicode", with_tail=False), "inline"
            )
    return None


def find_ingredients_in_html(html: str | None) -> FoundIngredients | None:
    """Ingredient list in an HTML fragment such as Shopify ``body_html`` or a Woo description."""
    root = parse_fragment(html or "")
    if root is None:
        return None
    return find_ingredients_in_tree(root)
