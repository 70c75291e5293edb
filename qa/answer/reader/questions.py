"""Question analysis: the expected answer type (spaCy entity labels), the question's own names
and content words, and its sub-questions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.verify import content_words, key_terms

__all__ = ["QuestionInfo", "analyse", "expected_labels", "sub_questions"]

PERSON = ("PERSON",)
WHO = ("PERSON", "ORG", "NORP")
WHEN = ("DATE", "TIME")
PLACE = ("GPE", "LOC", "FAC")

_ORG_NOUNS = (
    r"outlet|company|companies|organi[sz]ation|group|party|parties|agency|agencies|newspaper"
    r"|paper|think tank|team|club|university|universities|college|network|firm|bank|airline"
    r"|channel|magazine|brand|union|court|alliance|militia|movement|council|ministry|ministries"
    r"|department|publication|broadcaster|automaker|maker|manufacturer|carrier|retailer|chain"
    r"|restaurant|band|studio|platform|service|institution|body|school|startup|league"
)
_PERSON_NOUNS = (
    r"general|leader|minister|president|official|diplomat|person|people|man|men|woman|women"
    r"|actor|actress|singer|player|politician|senator|governor|author|writer|ceo|chief|king|queen"
    r"|prince|princess|celebrity|celebrities|star|judge|candidate|lawmaker|mp"
    r"|spokes(?:man|woman|person)|founder|director|secretary|undersecretary|rapper|musician"
    r"|athlete|coach|commander|ambassador|envoy|emperor|pope|mayor|prime minister|artist"
    r"|billionaire|executive|astronaut|journalist|reporter|comedian|host|entrepreneur"
    r"|businessman|businesswoman|activist|head of state|head of government"
)
_PLACE_NOUNS = (
    r"country|countries|city|cities|state|region|nation|capital|town|continent|island"
    r"|province|county|counties|village|port|territory|territories|place|location|park"
    r"|airport|stadium|neighbou?rhood"
)
_PLURAL = r"(?:s|es)?"
_AUX = r"(?:is|was|are|were|do|does|did|has|have|had|will|would|can|could|should|may|might)"
# "which", "what", "which of these" ... then up to two describing words that are neither
# auxiliaries nor prepositions: "which Tory MP", "which meal kit service", but not "what did
# the president say" (an explanation) or "which head of state" (a person).
_LINK = r"(?:of|from|in|on|at|for|to|by|with|about|as|into|than|and|or)"
_MODIFIERS = (
    rf"(?:of\s+(?:these|the\s+following|the)\s+)?(?:(?!(?:{_AUX}|{_LINK})\b)[\w’'-]+\s+){{0,2}}?"
)
_WH = rf"\b(?:which|what)\s+{_MODIFIERS}"


def _noun(nouns: str) -> str:
    return rf"(?:{nouns}){_PLURAL}\b"  # singular or plural


def _which(nouns: str, bare_possessive: bool = False) -> str:
    """ "which [of these] [two words] <noun>". A possessive asks for its owner only right after
    the question word: "which state's governor" asks for a state, "which of these NCAA men's
    teams" does not ask for men."""
    described = _WH + _noun(nouns) + r"(?![’']s)"
    return rf"\b(?:which|what)\s+{_noun(nouns)}|{described}" if bare_possessive else described


# A quiz clue without a question word: "This country's president said ...", "Agents from this
# federal agency searched ...": the thing named by "this" is what is asked.
_THIS = r"\b(?:this|these)\s+(?:[\w-]+\s+){0,3}?"
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
        (_which(_PLACE_NOUNS, bare_possessive=True), PLACE),
        (
            r"\b(what|which) (nationality|ethnic group|ethnicity|religion|language|tribe)\b",
            ("NORP", "LANGUAGE"),
        ),
        (_which(_ORG_NOUNS, bare_possessive=True), ("ORG",)),
        (_which(_PERSON_NOUNS), PERSON),
        (
            r"^\s*(who|whom|whose)\b|[,;:]\s*(who|whom)\b"
            r"|\b(who|whom) (is|was|are|were|has|had|did|does|will|would|leads?|led)\b",
            WHO,
        ),
        (r"\bwhat is the name of\b|\bname the\b", ("PERSON", "ORG")),
    )
)
_CLUES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(_THIS + _noun(nouns), re.I), labels)
    for nouns, labels in (
        (_PLACE_NOUNS, PLACE),
        (_ORG_NOUNS, ("ORG",)),
        (_PERSON_NOUNS, PERSON),
    )
)
_ASKS = re.compile(r"\b(?:who|whom|whose|what|which|when|where|why|how)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“‘'])")
_COMPOUND = re.compile(
    r",?\s+and\s+(?=(?:who|whom|which|what|how|when|where|in which|on which|in what|on what)\b)",
    re.I,
)
_EXPLAIN = re.compile(
    r"^\s*(why|how)\b(?!\s+(many|much|long|old|large|big|far|tall|high|fast))", re.I
)


def asked_part(question: str) -> str:
    """The sentence that asks: quiz questions often set the scene first ("Police arrested 31
    men this week. Where was the event?"). The last sentence with a question word, else the
    whole text (a clue: "This country's president said ...")."""
    sentences = _SENTENCE_END.split(question.strip())
    for sentence in reversed(sentences):
        if _ASKS.search(sentence):
            return sentence
    return question


def expected_labels(question: str) -> tuple[str, ...]:
    """spaCy entity labels the answer should carry, most wanted first; () for why/how/what-
    happened questions, which ask for an explanation rather than a thing."""
    asked = asked_part(question)
    if _EXPLAIN.search(asked):
        return ()
    # "What did the president of this country say?" asks what was said, not for the country
    for pattern, labels in _RULES if _ASKS.search(asked) else _CLUES:
        if pattern.search(asked):
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
