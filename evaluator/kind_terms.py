"""The product-kind terms of data/vocab/relevance.toml as one pattern, scanned once per text.

A term is a phrase ("eye cream", "serum"), a word prefix ("moisturi*") or a regular expression
("re:..."). The pattern has one group per term, in the order given; at one place the first term that
matches wins. Trying its ~260 alternatives at every position of a text costs far more than finding,
in one pass with an automaton, where a term's first letters are, and trying the pattern only there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from evaluator.vocab import PhraseStarts, lowered_alike, matches_at

PREFIX_CHARS = 4  # a word term is looked for where the lower-cased text has its first letters


def _term_body(term: str) -> str:
    prefix = term.endswith("*")
    body = re.escape(term.rstrip("*")).replace(r"\ ", r"[\s\-_&/]+")
    return body + (r"\w*" if prefix else r"(?!\w)")


def _term_regex(term: str) -> str:
    return term[3:] if term.startswith("re:") else rf"(?<!\w){_term_body(term)}"


def _kind_regex(terms: list[str]) -> str:
    """One group per term, in order. When every term is a word starting with a letter or digit, the
    word start and the first letters are checked once, before the alternatives."""
    if any(t.startswith("re:") or not t[:1].isalnum() for t in terms):
        return "|".join(f"({_term_regex(term)})" for term in terms)
    firsts = re.escape("".join(sorted({t[0] for t in terms})))
    bodies = "|".join(f"({_term_body(term)})" for term in terms)
    return rf"(?<!\w)(?=[{firsts}])(?:{bodies})"


@dataclass(frozen=True)
class KindTerms:
    pattern: re.Pattern[str]  # case-insensitive; group i is the i-th term
    word_starts: PhraseStarts  # the first letters of each word term, in lower case
    regex_starts: re.Pattern[str] | None  # matches (empty) wherever a "re:" term matches

    @classmethod
    def of(cls, terms: list[str]) -> KindTerms:
        regexes = [term[3:] for term in terms if term.startswith("re:")]
        words = [term.rstrip("*").split(" ")[0] for term in terms if not term.startswith("re:")]
        return cls(
            pattern=re.compile(_kind_regex(terms), re.IGNORECASE),
            word_starts=PhraseStarts(word.lower()[:PREFIX_CHARS] for word in words),
            regex_starts=(
                re.compile("(?=" + "|".join(f"(?:{r})" for r in regexes) + ")", re.IGNORECASE)
                if regexes
                else None
            ),
        )

    def finditer(self, text: str) -> list[re.Match[str]] | Iterator[re.Match[str]]:
        """``pattern.finditer(text)``: the same matches, the pattern tried only where a term can
        start (text whose lower case has other offsets is scanned by the pattern alone)."""
        lowered = lowered_alike(text)
        if lowered is None:
            return self.pattern.finditer(text)
        positions = self.word_starts.starts(lowered)
        if self.regex_starts is not None:
            more = [m.start() for m in self.regex_starts.finditer(text)]
            if more:
                positions = sorted({*positions, *more})
        return matches_at(self.pattern, text, positions)
