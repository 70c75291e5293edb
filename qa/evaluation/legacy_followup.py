"""The condensing used before issue 30, kept as the baseline `qa eval` compares follow-ups
with (`followup_accuracy_baseline`): pronouns and definite descriptions ("he", "its", "the
group") become the entity of the previous turn that they can refer to (spaCy entities of the
last question, then of the last answer), and the follow-up borrows the previous question's
remaining content words as context."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from qa.answer.reader.entities import Entity, EntityTagger, Tagger
from qa.answer.verify import content_words, strip_markers
from qa.schema import Turn

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|what about|how about|so|then)\b"
    r"|\b(he|she|him|they|them|it|its|his|her|their|that|those|these|there)\b",
    re.I,
)
_PERSONAL = re.compile(r"\b(he|him|she|her|his|hers)\b", re.I)
_THING = re.compile(
    r"\b(it|its|they|them|their)\b|\bthe (group|organi[sz]ation|movement|company|party|junta"
    r"|country|militia|agency|government|council|firm|network|outlet)\b",
    re.I,
)
_POSSESSIVE = {"his", "her", "hers", "its", "their"}
_PERSON_LABELS = ("PERSON",)
_THING_LABELS = ("ORG", "GPE", "NORP", "FAC", "LOC", "PRODUCT", "EVENT")


@lru_cache(maxsize=1)
def _tagger() -> EntityTagger:
    return EntityTagger(size=2_000)


def _referent(entities: Sequence[Sequence[Entity]], labels: tuple[str, ...]) -> str | None:
    """The first entity with one of `labels`, looking at each turn's entities in order."""
    for ents in entities:
        for e in ents:
            if e.label in labels:
                return e.text
    return None


def _replace(question: str, pattern: re.Pattern[str], name: str) -> str:
    match = pattern.search(question)
    if not match:
        return question
    word = match.group().lower()
    if name.lower() in question.lower():
        return question
    value = f"{name}'s" if word in _POSSESSIVE else name
    return question[: match.start()] + value + question[match.end() :]


def resolve(question: str, previous: str, answer: str, tagger: Tagger | None = None) -> str:
    """`question` with its first personal and first impersonal reference replaced."""
    tag = tagger or _tagger()
    turns = tag([previous, strip_markers(answer)]) if answer else tag([previous])
    if _PERSONAL.search(question) and (person := _referent(turns, _PERSON_LABELS)):
        question = _replace(question, _PERSONAL, person)
    if _THING.search(question) and (thing := _referent(turns, _THING_LABELS)):
        question = _replace(question, _THING, thing)
    return question


def condense_rules(history: Sequence[Turn], question: str, tagger: Tagger | None = None) -> str:
    """A follow-up resolved against the last user question and the answer that followed."""
    users = [k for k, t in enumerate(history) if t.role == "user"]
    if not users or not (_FOLLOW_UP.search(question) or len(question.split()) <= 4):
        return question
    last = users[-1]
    previous = history[last].content
    answer = next((t.content for t in history[last + 1 :] if t.role == "assistant"), "")
    resolved = resolve(question, previous, answer, tagger)
    missing = [w for w in previous.split() if content_words(w) - content_words(resolved)]
    return f"{resolved} ({' '.join(missing)})" if missing else resolved
