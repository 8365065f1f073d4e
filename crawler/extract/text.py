"""HTML fragments to plain text, keeping paragraphs and list items as lines."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "details", "summary", "dd", "dt", "dl", "blockquote", "header",
    "footer", "hr",
}  # fmt: skip
SKIP_TAGS = {"script", "style", "noscript", "template", "svg"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


BREAK = "\x00"
_WHITESPACE = re.compile(r"[ \t\n\r\f\v\u00a0]+")


def element_text(element: etree._Element) -> str:
    """Visible text of an lxml element: blocks and ``<br>`` become lines; whitespace inside the text
    (source line wrapping included) collapses to one space, as a browser shows it."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in SKIP_TAGS:
            if node.tail:
                parts.append(node.tail)
            return
        block = tag in BLOCK_TAGS
        if block:
            parts.append(BREAK)
        if isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if block:
            parts.append(BREAK)
        if node.tail:
            parts.append(node.tail)

    tail = element.tail
    element.tail = None
    try:
        walk(element)
    finally:
        element.tail = tail
    return tidy(_WHITESPACE.sub(" ", "".join(parts)).replace(BREAK, "\n"))


def tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()


def parse_fragment(html: str) -> etree._Element | None:
    """Parse an HTML fragment into one wrapping element; None for empty or unparsable input."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return None


def html_to_text(html: str | None) -> str | None:
    """Plain text of an HTML fragment, or None when it has no text."""
    root = parse_fragment(html or "")
    if root is None:
        return None
    return element_text(root) or None


def clean(value: object) -> str | None:
    """A stripped single-line string, or None for empty values (never "" or "null")."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = next((v for v in value if clean(v)), None)
        return clean(value)
    if isinstance(value, dict):
        return clean(value.get("name") or value.get("@value"))
    text = _SPACES.sub(" ", str(value)).strip()
    if not text or text.lower() in ("null", "none", "undefined"):
        return None
    return text
