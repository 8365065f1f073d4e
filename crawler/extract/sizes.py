"""Where a product page states its size, and the page's details text (specs rows, size labels).

Shops without structured data put the size under a label in any element ("Size: 30 ml" in a
div/span/li, ``<dt>Size</dt><dd>``, ``<th>Size</th><td>``), as scrape residue ("SIZE 0.5 oz/ 15
mL•ITEM 1234567"), or in a picker (``<select>`` options, radio swatches under a "Size" legend). The
size wording is read by the evaluator's reader (``evaluator.size``), the same one that scores it; the
raw text it was found in is kept for the listing's ``details``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from crawler.extract.ingredients import find_labelled_section
from crawler.extract.label_scan import DETAILS_WORDS, Labels, label_texts
from crawler.extract.regions import is_within, not_product, product_container
from crawler.extract.text import clean, element_text, parse_fragment
from evaluator.labels import INGREDIENTS_HEADING
from evaluator.size import SIZE_LABEL, size_wording

LABEL_TAGS = {
    "div", "span", "li", "p", "dt", "th", "td", "label", "legend", "strong", "b", "em", "small",
    "h2", "h3", "h4", "h5", "h6", "button", "summary",
}  # fmt: skip
SPECS_TAGS = {"th", "dt"}
VALUE_CHARS = 200  # a size follows its label closely: only this much text after it is read
MAX_DETAILS_CHARS = 20_000
MAX_ROWS = 60
DETAILS_HEADING = re.compile(rf"^\s*(?:product\s+)?(?:{DETAILS_WORDS})\s*:?\s*$", re.IGNORECASE)

SIZE_PICKER = re.compile(r"size|volume|option|variant", re.IGNORECASE)


@dataclass
class FoundSize:
    wording: str  # the size as the shop wrote it ("1 oz/ 30 mL")
    text: str  # the text it was found in ("SIZE 1 oz/ 30 mL•ITEM 1234567", "Size: 1 oz/ 30 mL")
    how: str  # html-label | html-specs | html-option
    # Found outside the element the page marks as its product's (a title's size beats it).
    outside: bool = False


def _short_text(element: etree._Element) -> str:
    return clean(" ".join(element.itertext())[: VALUE_CHARS * 2]) or ""


def _options(picker: etree._Element) -> list[str]:
    """The size wordings a picker offers, the selected one first."""
    chosen, rest = [], []
    for option in picker.iter("option", "input", "label"):
        if option.tag == "input" and option.get("type") not in ("radio", None):
            continue
        text = _short_text(option) if option.tag != "input" else clean(option.get("value")) or ""
        wording = size_wording(text)
        if wording:
            selected = option.get("selected") is not None or option.get("checked") is not None
            (chosen if selected else rest).append(wording)
    return list(dict.fromkeys(chosen + rest))


def _picker_for(label: etree._Element, root: etree._Element) -> etree._Element | None:
    if label.tag == "legend":
        return label.getparent()
    target = label.get("for")
    if target:
        found = root.xpath("//*[@id=$id]", id=target)
        if found:
            return found[0]
    following = label.getnext()
    if following is not None and following.tag in ("select", "fieldset", "ul", "div"):
        return following
    return None


def _value_after(label: etree._Element) -> tuple[str, str]:
    """(value text, how) next to a label element that holds only the label."""
    if label.tag in SPECS_TAGS:
        for sibling in label.itersiblings():
            if isinstance(sibling.tag, str) and sibling.tag in ("dd", "td"):
                return _short_text(sibling), "html-specs"
        return "", "html-specs"
    tail = clean(label.tail)
    if tail:
        return tail, "html-label"
    following = label.getnext()
    if following is not None and isinstance(following.tag, str):
        return _short_text(following), "html-label"
    return "", "html-label"


# Scrape residue puts fields in one line: "ITEM 1328822 || SIZE: 2 oz/ 60 mL".
SEPARATOR = re.compile(r"(?:\|\||[|\u2022\u00b7;])\s*")


def _after_separator(own: str) -> re.Match[str] | None:
    """A size label right after a field separator in a short line of scrape residue."""
    if len(own) > VALUE_CHARS:
        return None
    for separator in SEPARATOR.finditer(own):
        label = SIZE_LABEL.match(own, separator.end())
        if label:
            return label
    return None


def is_size_line(text: str) -> bool:
    """True for a line that is a size label and its value ("Size: 30 ml", "ITEM 1 || SIZE: 1 oz")."""
    return bool(SIZE_LABEL.match(text) or _after_separator(text))


def _labelled_size(element: etree._Element, root: etree._Element) -> FoundSize | None:
    own = clean(element.text) or ""
    label = SIZE_LABEL.match(own) or _after_separator(own)
    if not label:
        return None
    how = "html-specs" if element.tag in SPECS_TAGS else "html-label"
    rest = own[label.end() :].strip()
    if rest:  # "Size: 30 ml", "SIZE 0.5 oz/ 15 mL•ITEM 1234567"
        wording = size_wording(rest[:VALUE_CHARS])
        return FoundSize(wording, own, how) if wording else None
    if len(element) and element.tag not in SPECS_TAGS and element.tag not in ("label", "legend"):
        text = _short_text(element)  # "<li>Size: <b>30 ml</b></li>"
        after = SIZE_LABEL.match(text)
        wording = size_wording(text[after.end() : after.end() + VALUE_CHARS]) if after else None
        if wording:
            return FoundSize(wording, text, how)
    picker = _picker_for(element, root) if element.tag in ("label", "legend") else None
    if picker is not None:
        offered = _options(picker)
        if offered:
            return FoundSize(offered[0], f"{own.rstrip(':')}: {offered[0]}", "html-option")
    value, how = _value_after(element)
    wording = size_wording(value[:VALUE_CHARS])
    if wording:
        return FoundSize(wording, f"{own.rstrip(':').strip()}: {value}", how)
    return None


def _first_size(root: etree._Element, labels: Labels, keep) -> FoundSize | None:
    """The first size under a size label, else in a size picker, among the elements ``keep``
    accepts."""
    examined = set()
    for element, _ in labels["size"]:
        text = element.text
        if element in examined or element.tag not in LABEL_TAGS or not text or len(text) > 2000:
            continue
        examined.add(element)
        if not SIZE_LABEL.search(text[:40]) or not keep(element):
            continue
        found = _labelled_size(element, root)
        if found:
            return found
    for picker in root.iter("select", "fieldset"):
        described = " ".join(picker.get(a) or "" for a in ("name", "id", "class"))
        if not SIZE_PICKER.search(described) or not keep(picker):
            continue
        offered = _options(picker)
        if offered:
            return FoundSize(offered[0], f"Size: {offered[0]}", "html-option")
    return None


def find_size(root: etree._Element, labels: Labels | None = None) -> FoundSize | None:
    """The first size the page states under a size label, else the one its size picker shows, in
    the product's container when the page marks one, else elsewhere (``outside``); never in the
    site's chrome or in related-product and review widgets (``labels``: the page's
    ``label_texts``, when the caller has them)."""
    labels = labels if labels is not None else label_texts(root, ("size",))
    if not labels["size"] and not any(True for _ in root.iter("select", "fieldset")):
        return None
    excluded = not_product(root)
    container = product_container(root)
    if container is None:
        return _first_size(root, labels, lambda e: not is_within(e, excluded))
    inside = {container}
    found = _first_size(root, labels, lambda e: is_within(e, inside) and not is_within(e, excluded))
    if found is not None:
        return found
    found = _first_size(
        root, labels, lambda e: not is_within(e, inside) and not is_within(e, excluded)
    )
    if found is not None:
        found.outside = True
    return found


def _spec_rows(root: etree._Element) -> list[str]:
    rows = []
    labels = list(root.iter("th", "dt"))
    outside = not_product(root) if labels else set()
    for label in labels:
        if len(rows) >= MAX_ROWS or is_within(label, outside):
            continue
        name = clean(element_text(label))
        value_element = next(
            (s for s in label.itersiblings() if isinstance(s.tag, str) and s.tag in ("td", "dd")),
            None,
        )
        if not name or value_element is None or INGREDIENTS_HEADING.match(name):
            continue
        value = element_text(value_element)[:1000]
        if value:
            rows.append(f"{name.rstrip(':')}: {value}")
    return rows


def page_details(
    root: etree._Element, size: FoundSize | None, labels: Labels | None = None
) -> str | None:
    """What the page states outside its description, as text: the size label the size was found
    under, specs table and list rows (not the ingredient list), a "Details"/"Packaging" panel."""
    lines = [size.text] if size and size.how != "html-option" else []
    lines += _spec_rows(root)
    labels = labels if labels is not None else label_texts(root, ("details",))
    panel = find_labelled_section(root, DETAILS_HEADING, labels["details"])
    if panel is not None:
        lines.append(panel.text)
    text = "\n".join(line for line in dict.fromkeys(lines) if line)[:MAX_DETAILS_CHARS]
    return text or None


def size_and_source(
    api: str | None, in_description: FoundSize | None, title: str | None
) -> tuple[str | None, str | None]:
    """(size wording, where from) for an API variant: the shop's own size field or option ("api"),
    a labelled size in the description ("description"), else the product title ("title")."""
    if api:
        return api, "api"
    if in_description is not None:
        return in_description.wording, "description"
    wording = size_wording(title)
    return (wording, "title") if wording else (None, None)


def fragment_size(html: str | None) -> FoundSize | None:
    """A labelled size in a description's HTML (Shopify ``body_html``, a WooCommerce description,
    structured data's description); ``how`` is "description"."""
    root = parse_fragment(html or "")
    found = find_size(root) if root is not None else None
    if found is None or found.how == "html-option":
        return None
    return FoundSize(found.wording, found.text, "description")
