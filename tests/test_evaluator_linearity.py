"""Every evaluator reader finishes on 200,000-character hostile fields (the read limit): texts built
to make a careless pattern rescan or backtrack. How long each takes is measured by bench/linearity.py,
not here; the timeout only stops a quadratic reader from hanging the suite."""

from __future__ import annotations

import pytest
from hostile_texts import HOSTILE_TEXTS, READERS

from evaluator.text import MAX_FIELD_CHARS


@pytest.mark.timeout(120)
@pytest.mark.parametrize("reader", list(READERS))
def test_reader_finishes_on_every_hostile_text_at_the_read_limit(reader):
    for name, make in HOSTILE_TEXTS.items():
        text = make(MAX_FIELD_CHARS)
        assert len(text) == MAX_FIELD_CHARS
        assert READERS[reader](text) is not None, name
