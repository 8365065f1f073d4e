"""The label shops put before an ingredient list: "Ingredients:", "Full Ingredients List", "INCI",
"Ingredients (INCI)", "What's inside", "Composition". One definition, read by the crawler (finding the
list in a page) and the evaluator (finding it in a description, or a description repeating it)."""

from __future__ import annotations

import re

# The label words, on one line: "Ingredients", "Full ingredient list", "Complete INCI declaration".
INGREDIENTS_WORDS = (
    r"(?:(?:full|complete|all|other)[ \t]+)?(?:ingredients?|inci)"
    r"(?:[ \t]+(?:list|declaration))?(?:[ \t]*\((?:inci|full)\))?"
)
# A label standing alone: a heading, a tab, an accordion summary, a table header, a "dt".
# Every label word: the words above, and "What's inside", "Composition".
INGREDIENTS_LABEL = rf"(?:{INGREDIENTS_WORDS}|what['\u2019]?s\s+inside|composition)"
INGREDIENTS_HEADING = re.compile(rf"^\s*{INGREDIENTS_LABEL}\s*:?\s*$", re.IGNORECASE)
# Text that starts with the label (the list may follow it: "Ingredients: Aqua, ...").
INGREDIENTS_START = re.compile(rf"^\s*{INGREDIENTS_WORDS}\b", re.IGNORECASE)
# The label, a colon and the list after it, in one element's text.
INGREDIENTS_INLINE = re.compile(
    rf"^\s*{INGREDIENTS_WORDS}\s*:\s*(\S.*)$", re.IGNORECASE | re.DOTALL
)
