"""Condensing a follow-up into a standalone question for the extractive backend (no LLM), from
spaCy's dependency parse and the previous turn's entities (its standalone question, its answer):

- a fragment ("And the US?", "What about Mali?", "And in Chad?") replaces its counterpart in the
  previous question: the entity of the same type, the phrase with the same preposition, or the
  noun the previous question asked about; else it is added to it;
- ellipsis: a quantifier without its noun ("how many does the US have") takes the noun the
  previous question counted ("soldiers"), and the previous question's place and time phrases
  ("in Niger") that the follow-up does not replace;
- pronouns and possessives ("he", "his junta", "it", "they", "there", "then") become the entity
  of the previous turn they can refer to, the answer's new entity first when the previous
  question asked for one of that type.

A question with none of these is returned unchanged. Three-turn conversations are condensed turn
by turn, so the previous question is itself standalone before the next one is read against it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from qa.answer.reader.entities import _label
from qa.answer.reader.referents import (
    GROUPS,
    PERSON,
    PLACES,
    THINGS,
    TIMES,
    entities,
    mentions,
    parse,
    pick,
)
from qa.schema import Turn

# pronoun -> (entity labels it can stand for, possessive)
_PRONOUNS: dict[str, tuple[tuple[str, ...], bool]] = {
    "he": (PERSON, False),
    "him": (PERSON, False),
    "his": (PERSON, True),
    "she": (PERSON, False),
    "her": (PERSON, True),  # object "her" is rare in questions
    "it": (THINGS, False),
    "its": (THINGS, True),
    "they": (GROUPS, False),
    "them": (GROUPS, False),
    "their": (GROUPS, True),
}
_ADVERBS = {"there": PLACES, "then": TIMES}
_OPENERS = re.compile(r"^\s*(?:(?:and|but|also|so|ok(?:ay)?|now)\s*,?\s+)*", re.I)
_ABOUT = re.compile(r"^\s*(?:what|how)\s+about\s+", re.I)


def _wh_noun(doc: Any) -> Any | None:
    """The noun a question asks about: "soldiers" in "How many soldiers ...", "country" in
    "Which country ..."."""
    for tok in doc:
        wh = tok.lower_ in ("many", "much", "which", "what")
        if wh and tok.head.pos_ in ("NOUN", "PROPN") and tok.head.i > tok.i:
            return tok.head
    return None


def _phrase(tok: Any) -> Any:
    """The span of a token's subtree."""
    return tok.doc[tok.left_edge.i : tok.right_edge.i + 1]


def _noun_phrase(noun: Any) -> str:
    """A noun with its compounds and adjectives but without its determiner or quantifier."""
    left = [
        t for t in noun.lefts if t.dep_ in ("compound", "amod") and t.lower_ not in ("many", "much")
    ]
    start = min([t.left_edge.i for t in left] + [noun.i])
    return noun.doc[start : noun.i + 1].text


def _context(previous: Any, question: Any) -> list[str]:
    """The previous question's prepositional phrases naming an entity (place, time...) that the
    follow-up neither names nor replaces with a phrase of the same preposition."""
    low = question.text.lower()
    preps = {t.lower_ for t in question if t.dep_ == "prep"}
    labels = {label for _, label in entities(question)}
    found = []
    for tok in previous:
        if tok.dep_ != "prep" or tok.lower_ in preps:
            continue
        objs = [c for c in tok.children if c.dep_ == "pobj"]
        if not objs or not objs[0].ent_type_:
            continue
        span = _phrase(tok)
        if objs[0].text.lower() in low:
            continue
        label = _label(objs[0].text, objs[0].ent_type_)
        if label in TIMES and labels & set(TIMES):
            continue
        found.append(span.text)
    return found


def _finish(text: str) -> str:
    text = " ".join(text.split()).strip(" ,")
    text = re.sub(r"\s+([?,.!])", r"\1", text)
    text = text[:1].upper() + text[1:]
    return text if text.endswith("?") else text.rstrip(".!") + "?"


def _fragment(rest: str, previous: Any) -> str:
    """A verbless follow-up ("the US", "in Chad", "drones") put in place of its counterpart in
    the previous question."""
    frag = parse(rest)
    body = rest.strip(" ?")
    first = frag[0]
    prev = previous.text
    if first.pos_ == "ADP":
        for tok in previous:
            if tok.dep_ == "prep" and tok.lower_ == first.lower_:
                span = _phrase(tok)
                return prev[: span.start_char] + body + prev[span.end_char :]
    if first.tag_ in ("WRB", "WDT", "WP"):  # "and how many American troops?": a new head
        wh = next((t for t in previous if t.tag_ == first.tag_), None)
        noun = _wh_noun(previous)
        if wh is not None and noun is not None and noun.i > wh.i:
            span = previous[wh.i : noun.i + 1]
            return prev[: span.start_char] + body + prev[span.end_char :]
    ents = entities(frag)
    if ents:
        label = ents[0][1]
        same = [e for e, lab in entities(previous) if lab == label]
        subjects = [e for e in same if e.root.dep_ in ("nsubj", "nsubjpass")]
        target = (subjects or same or [None])[0]
        if target is not None:
            return prev[: target.start_char] + body + prev[target.end_char :]
    noun = _wh_noun(previous)
    if noun is not None and not ents:
        return prev[: noun.idx] + body + prev[noun.idx + len(noun.text) :]
    return prev.rstrip(" ?") + " " + body


def resolve(question: str, previous: str, answer: str) -> str:
    """`question` made standalone against the previous (standalone) question and its answer."""
    about = _ABOUT.match(question)
    opener = _OPENERS.match(question)
    rest = question[about.end() :] if about else question[opener.end() if opener else 0 :]
    if not rest.strip(" ?"):
        return question
    prev = parse(previous)
    doc = parse(rest)
    verbless = not any(t.pos_ in ("VERB", "AUX") for t in doc)
    if (about or verbless) and len(doc) <= 8:
        return _finish(_fragment(rest, prev))
    found = mentions(previous, answer)
    edits: list[tuple[int, int, str]] = []
    elliptic = False
    for tok in doc:
        low = tok.lower_
        if low in ("many", "much") and tok.i > 0 and doc[tok.i - 1].lower_ == "how":
            nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
            if nxt is None or nxt.pos_ not in ("NOUN", "PROPN", "ADJ"):
                noun = _wh_noun(prev)
                if noun is not None:
                    end = tok.idx + len(tok.text)
                    edits.append((end, end, " " + _noun_phrase(noun)))
                    elliptic = True
        elif low in _PRONOUNS and tok.pos_ == "PRON":
            labels, possessive = _PRONOUNS[low]
            if low == "her" and tok.dep_ != "poss":
                possessive = False
            if possessive and tok.head.pos_ == "NOUN":
                same = [
                    c for c in prev.noun_chunks if c.root.lemma_ == tok.head.lemma_ and len(c) > 1
                ]
                if same and not any(t.pos_ == "PRON" for t in same[0]):
                    start = tok.idx
                    end = tok.head.idx + len(tok.head.text)
                    edits.append((start, end, same[0].text))
                    continue
            name = pick(found, labels, rest)
            if name:
                edits.append(
                    (tok.idx, tok.idx + len(tok.text), f"{name}'s" if possessive else name)
                )
        elif low in _ADVERBS and tok.dep_ == "advmod":
            name = pick(found, _ADVERBS[low], rest)
            if name:
                word = "in" if low == "there" else "at"
                label = next((m.label for m in found if m.text == name), "")
                if label in ("DATE",) and not name[:1].isdigit():
                    word = "in" if re.search(r"\d{4}$", name) else "on"
                edits.append((tok.idx, tok.idx + len(tok.text), f"{word} {name}"))
    if not edits and not (opener and opener.group().strip()):
        return question
    text = rest
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    if elliptic or not edits:
        extra = _context(prev, parse(text))
        if extra:
            text = text.rstrip(" ?") + " " + " ".join(extra)
    return _finish(text)


def condense(history: Sequence[Turn], question: str) -> str:
    """A follow-up made standalone: each earlier user turn is condensed against the turn before
    it, then `question` against the last one and the answer that followed it."""
    previous = answer = ""
    for turn in history:
        if turn.role == "user":
            previous = resolve(turn.content, previous, answer) if previous else turn.content
            answer = ""
        elif turn.role == "assistant" and previous:
            answer = turn.content
    if not previous:
        return question
    return resolve(question, previous, answer)
