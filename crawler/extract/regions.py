"""Where a page's product is, and which parts of the page are about something else.

A product page shows more than its product: the site's header, navigation and footer, and widgets
about other products or other people's words (related products, upsells, recommendations, reviews).
Facts (a size label, a price, description paragraphs) are read only outside those widgets.
"""

from __future__ import annotations

import re
import weakref

from lxml import etree

OUTSIDE_TAGS = ("header", "nav", "footer", "aside")
# Class or id of a widget about other products or by other people (reviews apps by name).
NOT_PRODUCT_CLASS = re.compile(
    r"related|upsell|up-sell|cross-?sell|recommend|also-?(?:like|bought|viewed)|you-may|"
    r"recently-viewed|(?<![a-z])reviews?(?![a-z])|(?<![a-z])rev(?![a-z])|yotpo|jdgm|judgeme|"
    r"okendo|stamped|trustpilot|bazaarvoice|(?<![a-z])bv[-_]|testimonial",
    re.IGNORECASE,
)
# A product's own block ("product-single", "main-product", "productView"), not a grid or card of them.
PRODUCT_CLASS = re.compile(
    r"(?<![a-z])product(?!s|[-_]?(?:list|grid|card|item|tile|loop))", re.IGNORECASE
)
# Both select elements through their attributes: libxml2 walks a page's attributes about twice as
# fast as it tests every element ("//*[contains(@itemtype, 'Product')]", "//*[@class or @id]").
PRODUCT_ITEM = etree.XPath("//@itemtype[contains(., 'Product')]/..")
MARKED = etree.XPath(
    "descendant-or-self::*/@class/.. | descendant-or-self::*/@id/.."
)  # the elements _marks can find a widget's name on
FIRST_H1 = etree.XPath("(//h1)[1]")


def _marks(element: etree._Element) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}"


# not_product's answer per parsed page (its root), while the page lives: it is read by several finders.
_NOT_PRODUCT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def not_product(root: etree._Element) -> set[etree._Element]:
    """``_not_product(root)``, computed once per page (the page must not change in between)."""
    found = _NOT_PRODUCT.get(root)
    if found is None:
        found = _NOT_PRODUCT[root] = _not_product(root)
    return found


def _not_product(root: etree._Element) -> set[etree._Element]:
    """The elements whose whole subtree is not about the page's product: the site's chrome and
    related, upsell, recommendation and review widgets (``_is_widget``)."""
    found = set(root.iter(*OUTSIDE_TAGS))
    frame = _frame(root)
    found.update(element for element in MARKED(root) if _is_widget(element, frame))
    return found


def _frame(root: etree._Element) -> set[etree._Element]:
    """The elements holding the page's title."""
    h1 = FIRST_H1(root)
    return set(h1[0].iterancestors()) if h1 else set()


def _is_widget(element: etree._Element, frame: set[etree._Element]) -> bool:
    """Whether the element's class or id names a widget about something else. A class on the
    page's frame (``body``, or any element holding the title: "template-product
    recommendations-on") marks no widget."""
    return (
        isinstance(element.tag, str)
        and element.tag not in ("html", "body", "main")
        and element not in frame
        and NOT_PRODUCT_CLASS.search(_marks(element)) is not None
    )


def in_not_product(root: etree._Element, element: etree._Element) -> bool:
    """``is_within(element, not_product(root))``. Until a finder has needed the page's whole set,
    only the element and its ancestors are looked at: a page with one description to check need
    not have every widget found."""
    found = _NOT_PRODUCT.get(root)
    if found is not None:
        return is_within(element, found)
    frame = _frame(root)
    return any(
        node.tag in OUTSIDE_TAGS or _is_widget(node, frame)
        for node in (element, *element.iterancestors())
    )


def is_within(element: etree._Element, regions: set[etree._Element]) -> bool:
    """True when ``element`` is one of ``regions`` or inside one."""
    if not regions:
        return False
    return element in regions or any(a in regions for a in element.iterancestors())


def product_container(root: etree._Element) -> etree._Element | None:
    """The element holding the page's product: a schema.org Product item, else the nearest ancestor
    of the title whose class or id names a product; None when the page marks neither."""
    for item in PRODUCT_ITEM(root):
        if not NOT_PRODUCT_CLASS.search(_marks(item)):
            return item
    h1 = FIRST_H1(root)
    if not h1:
        return None
    for ancestor in h1[0].iterancestors():
        if ancestor.tag in ("body", "html"):
            break
        marks = _marks(ancestor)
        if PRODUCT_CLASS.search(marks) and not NOT_PRODUCT_CLASS.search(marks):
            return ancestor
    return None
