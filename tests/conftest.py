"""Shared fixtures. Tests never leave 127.0.0.1."""

import pytest


@pytest.fixture(scope="session")
def demo_shops():
    """The three demo shops (serumscope.demo.DemoShops) running on 127.0.0.1 for the whole session.

    Tests that call ``set_day`` must set day 1 back when they finish.
    """
    from serumscope.demo import DemoShops

    with DemoShops() as shops:
        yield shops
