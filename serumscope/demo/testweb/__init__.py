"""A varied test web: products rendered in the page layouts real shops use, served on 127.0.0.1.

``PageProduct`` says what a shop says about a product; ``LAYOUTS`` are the ways shops write it (schema.org
data or none; the size under a label, in a picker, a specs table, the title or scrape residue; the
ingredient list in a tab, an accordion, ``<details>``, a table row or the description; Shopify and
WooCommerce APIs). ``LayoutWeb`` serves every layout as its own shop for the real spiders to crawl.
Tests use hand-written products; ``bench/realworld.py`` renders rows of the real listings at run time.
"""

from serumscope.demo.testweb.product import LAYOUTS, PageProduct
from serumscope.demo.testweb.shops import LayoutWeb, render_page, slug_of

__all__ = ["LAYOUTS", "LayoutWeb", "PageProduct", "render_page", "slug_of"]
