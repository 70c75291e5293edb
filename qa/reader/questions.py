"""Question analysis: the expected answer type (spaCy entity labels), the question's own names
and content words, and its sub-questions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.verify import content_words, key_terms

__all__ = ["QuestionInfo", "analyse", "expected_labels", "sub_questions"]

PERSON = ("PERSON",)
WHO = ("PERSON", "ORG", "NORP")
WHEN = ("DATE", "TIME")
PLACE = ("GPE", "LOC", "FAC")
NUMBER = ("CARDINAL", "QUANTITY", "MONEY", "PERCENT")

_ORG_NOUNS = (
    r"outlet|company|companies|organi[sz]ations?|group|party|agency|newspaper|paper|think tank"
    r"|team|club|university|college|network|firm|bank|airline|channel|magazine|brand|union|court"
    r"|alliance|militia|movement|council|ministry|department|publication|broadcaster|automaker"
    r"|carrier|retailer|studio|platform|service|institution|body|school"
)
_PERSON_NOUNS = (
    r"general|leader|minister|president|official|diplomat|person|man|woman|actor|actress|singer"
    r"|player|politician|senator|governor|author|writer|ceo|chief|king|queen|prince|princess"
    r"|celebrity|star|judge|candidate|lawmaker|spokes(?:man|woman|person)|founder|director"
    r"|secretary|undersecretary"
    r"|rapper|musician|athlete|coach|commander|ambassador|envoy|emperor|pope|mayor|prime minister"
)
_PLACE_NOUNS = (
    r"country|countries|city|cities|state|states|region|nation|capital|town|continent|island"
    r"|province|county|village|port|territory|place|location"
)
_WH = r"(?:which|what)(?:\s+\w+)?\s+"
# (pattern, labels): the first match wins, so narrow patterns come first
_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(p, re.I), labels)
    for p, labels in (
        (r"\b(what|which) (percentage|percent|share|proportion)\b", ("PERCENT", "CARDINAL")),
        (
            r"\bhow much\b|\b(what|which) (amount|price|cost|sum)\b",
            ("MONEY", "QUANTITY", "CARDINAL", "PERCENT"),
        ),
        (
            r"\bhow (many|large|big|far|tall|high|fast)\b|\bnumber of\b|\bpopulation\b",
            ("CARDINAL", "QUANTITY", "MONEY", "PERCENT"),
        ),
        (r"\bhow (long|old)\b", ("DATE", "TIME", "QUANTITY", "CARDINAL")),
        (
            r"^\s*when\b|\bin what year\b"
            r"|\b(what|which) (day|date|year|month|time|decade|century|season)\b",
            WHEN,
        ),
        (r"^\s*where\b|\bwhere (did|does|do|is|was|were|are|will)\b", PLACE),
        (rf"\b{_WH}(?:{_PLACE_NOUNS})\b", PLACE),
        (
            r"\b(what|which) (nationality|ethnic group|ethnicity|religion|language|tribe)\b",
            ("NORP", "LANGUAGE"),
        ),
        (rf"\b(which|what)\s+(?:\w+\s+)?(?:{_ORG_NOUNS})\b", ("ORG",)),
        (rf"\b(which|what)\s+(?:\w+\s+)?(?:{_PERSON_NOUNS})\b", PERSON),
        (
            r"^\s*(who|whom|whose)\b"
            r"|\b(who|whom) (is|was|are|were|has|had|did|does|will|would|leads?|led)\b",
            WHO,
        ),
        (r"\bwhat is the name of\b|\bname the\b", ("PERSON", "ORG")),
    )
)
_COMPOUND = re.compile(
    r",?\s+and\s+(?=(?:who|whom|which|what|how|when|where|in which|on which|in what|on what)\b)",
    re.I,
)
_EXPLAIN = re.compile(
    r"^\s*(why|how)\b(?!\s+(many|much|long|old|large|big|far|tall|high|fast))", re.I
)


def expected_labels(question: str) -> tuple[str, ...]:
    """spaCy entity labels the answer should carry, most wanted first; () for why/how/what-
    happened questions, which ask for an explanation rather than a thing."""
    if _EXPLAIN.search(question):
        return ()
    for pattern, labels in _RULES:
        if pattern.search(question):
            return labels
    return ()


def sub_questions(question: str) -> list[str]:
    """'Who leads the CRR, and who commands the junta?' -> its two questions."""
    parts = [p.strip(" ,?") for p in _COMPOUND.split(question)]
    return [p + "?" for p in parts if len(p.split()) >= 3] or [question]


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    labels: tuple[str, ...]  # expected entity labels; () means untyped
    words: frozenset[str]  # content words (stems)
    names: frozenset[str]  # capitalised names and numbers, normalised

    @property
    def typed(self) -> bool:
        return bool(self.labels)


def analyse(question: str) -> QuestionInfo:
    names = frozenset(t.lower() for t in key_terms(" " + question))
    return QuestionInfo(
        question, expected_labels(question), frozenset(content_words(question)), names
    )


NUMERAL = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|"
    r"millions?|billions?)\b",
    re.I,
)
_QUANTITY = re.compile(
    r"\bhow (?:many|much)\s+((?:[\w-]+\s+){0,3}?[\w-]+)\s+(?:do|does|did|are|is|were|was|have|has"
    r"|had|will|would|can|could)\b|\b(population)\b|\bnumber of ([\w-]+)",
    re.I,
)


def answers_quantity(question: str, sentence: str) -> bool:
    """A number, and (when the question names it) the thing counted: "how many troops"."""
    if not NUMERAL.search(sentence):
        return False
    match = _QUANTITY.search(question)
    if not match:
        return True
    counted = content_words(" ".join(g for g in match.groups() if g))
    if not counted:
        return True
    # the number must count that thing: within a few words of it ("1,100 troops", "a
    # population of about 25 million"), not anywhere in a sentence that mentions it
    words = sentence.split()
    numbers = [i for i, w in enumerate(words) if NUMERAL.search(w)]
    things = [i for i, w in enumerate(words) if content_words(w) & counted]
    return any(abs(i - j) <= _NEAR for i in numbers for j in things)


_NEAR = 4  # words between a number and the thing it counts


def asks_count(question: str) -> bool:
    """'How many troops…', 'the population of…', 'the number of…'."""
    return bool(_QUANTITY.search(question))
