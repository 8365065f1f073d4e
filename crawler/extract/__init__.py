"""Turning what a shop serves (API JSON, product pages) into the listing dict of docs/schema.md.

Shared by the spiders, ``serumscope inspect`` and ``serumscope detect``, so all three see a page the
same way.
"""
