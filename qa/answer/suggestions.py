"""Questions to offer on an empty chat page: who/what/when questions about the indexed
articles' main entities and events, read from their titles and opening sentences with spaCy's
parse and entities (no LLM), and kept only when the service answers them.

Order is deterministic: articles newest first, one candidate of each in turn, each article's
candidates in the order its sentences give them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.answer.engine import Engine

NAMED = {"PERSON", "ORG", "GPE", "NORP"}  # the entities a question can be about
SAYS_MORE = {"ccomp", "xcomp", "oprd"}  # a verb whose clause or complement carries the news
LEAD_CHARS = 1200  # the opening of an article read for its main events
LEAD_SENTENCES = 3


@dataclass(frozen=True)
class Article:
    """What a suggestion is made from: an article's title (if any), its text, its date."""

    title: str | None
    text: str
    date: date | None


def _span(tokens: Iterable[Any]) -> str:
    return " ".join("".join(t.text_with_ws for t in tokens).split())


def _phrase(head: Any) -> list[Any] | None:
    """A subject's or object's words (its subtree), or None when a pronoun or a clause makes
    it unreadable outside its sentence ("its airspace", "who have refused ...")."""
    words = list(head.subtree)
    if any(t.pos_ == "PRON" or t.dep_ in ("relcl", "acl", "appos", "advcl") for t in words):
        return None
    if any(t.dep_ == "punct" for t in words) or len(words) > 8:
        return None
    return words


def _named(words: Sequence[Any]) -> bool:
    return any(t.ent_type_ in NAMED for t in words)


def event_questions(sentence: Any) -> list[str]:
    """When/what/who questions about the event a sentence reports: its main verb and object,
    with a subject naming an entity (Niger's junta shut down X -> When did Niger's junta shut
    down X? What did Niger's junta shut down? and, when the subject is itself a name, Who ...?)."""
    root = sentence.root
    perfect = root.tag_ == "VBN" and any(
        c.dep_ == "aux" and c.lemma_ == "have" for c in root.children
    )
    if root.pos_ != "VERB" or not (perfect or root.tag_ in ("VBD", "VBZ", "VBP")):
        return []
    if any(c.dep_ in SAYS_MORE or (c.dep_ == "prep" and c.lower_ == "as") for c in root.children):
        return []  # "described Bazoum as ...", "said that ...": the verb alone says too little
    subjects = [c for c in root.children if c.dep_ == "nsubj"]
    objects = [c for c in root.children if c.dep_ == "dobj"]
    subject = _phrase(subjects[0]) if subjects else None
    thing = _phrase(objects[0]) if objects else None
    if subject is None or thing is None or not _named(subject):
        return []  # "When did the junta request?": without its object the event is unclear
    particle = " ".join(c.text for c in root.children if c.dep_ == "prt")
    verb = f"{root.lemma_} {particle}".strip()
    who, what = _lower_first(_span(subject), subject), _span(thing)
    do = "did" if root.tag_ == "VBD" or perfect else ("does" if root.tag_ == "VBZ" else "do")
    found = [f"When did {who} {verb} {what}?"] if do == "did" else []
    found.append(f"What {do} {who} {verb}?")
    if subjects[0].ent_type_ in NAMED:  # the subject is itself a name: who did it
        found.append(f"Who {root.text} {particle} {what}?".replace("  ", " "))
    return found


def _lower_first(text: str, words: Sequence[Any]) -> str:
    """The subject inside a question: "The junta" -> "the junta", names kept as written."""
    first = words[0]
    if first.pos_ != "DET" and (first.ent_type_ or first.pos_ == "PROPN"):
        return text
    return text[:1].lower() + text[1:]


def entity_questions(sentences: Sequence[Any]) -> list[str]:
    """Who is <person>? for people named by two or more words, What is <organisation>? for
    organisations named by three or more (an acronym alone says too little); a name inside a
    longer one already asked about ("Ag Boula" in "Rhissa Ag Boula") is not asked again."""
    found: list[str] = []
    names: list[str] = []
    for ent in (e for s in sentences for e in s.ents):
        words = ent.text.split()
        if ent[-1].is_stop or any(ent.text in name for name in names):
            continue  # "the Council of Resistance for": a name cut short
        if ent.label_ == "PERSON" and len(words) >= 2:
            found.append(f"Who is {ent.text}?")
        elif ent.label_ == "ORG" and len(words) >= 3:
            rest = " ".join(words[1:]) if words[0].lower() == "the" else ent.text
            found.append(f"What is the {rest}?")
        else:
            continue
        names.append(ent.text)
    return found


def truecase(title: str, text: str) -> str:
    """A Title Cased Headline in sentence case: a capitalised word (not the first) is written
    as the article's own text writes it most often ("Coup Leader" -> "coup leader")."""
    words = title.split(" ")
    counts: dict[str, int] = {}
    for word in text.split():
        counts[word.strip('.,;:!?()"“”')] = counts.get(word.strip('.,;:!?()"“”'), 0) + 1
    out = words[:1]
    for word in words[1:]:
        bare = word.strip('.,;:!?()"“”')
        lower = bare.lower()
        if bare[:1].isupper() and counts.get(lower, 0) > counts.get(bare, 0):
            word = word.replace(bare, lower)
        out.append(word)
    return " ".join(out)


def candidates_of(article: Article, nlp: Any) -> list[str]:
    """One article's candidate questions, in the order of its title and first sentences."""
    found: list[str] = []
    if article.title:
        found += event_questions(next(iter(nlp(truecase(article.title, article.text)).sents)))
    lead = nlp(" ".join(article.text[:LEAD_CHARS].split()))
    sentences = list(lead.sents)
    if len(article.text) > LEAD_CHARS:
        sentences = sentences[:-1]  # the last one may be cut at LEAD_CHARS
    sentences = sentences[:LEAD_SENTENCES]
    for sentence in sentences:
        found += event_questions(sentence)
    return found + entity_questions(sentences)


def candidates(articles: Sequence[Article], nlp: Any = None) -> list[str]:
    """Every article's candidates, newest article first, taking one from each in turn."""
    from qa.answer.reader.referents import parse  # the follow-ups' pipeline and its lock

    nlp = nlp or parse
    ordered = sorted(articles, key=lambda a: (a.date is not None, a.date or date.min), reverse=True)
    queues = [candidates_of(a, nlp) for a in ordered]
    merged: list[str] = []
    seen: set[str] = set()
    for turn in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if turn < len(queue) and queue[turn].lower() not in seen:
                seen.add(queue[turn].lower())
                merged.append(queue[turn])
    return merged


def keep_answered(
    questions: Iterable[str],
    answers: Callable[[str], bool],
    count: int = 4,
    checks: int = 12,
    seconds: float = 60.0,
) -> list[str]:
    """The first `count` questions that `answers` says the service answers, asking at most
    `checks` of them and starting no check after `seconds`."""
    kept: list[str] = []
    deadline = time.monotonic() + seconds
    for asked, question in enumerate(questions):
        if len(kept) == count or asked == checks or time.monotonic() > deadline:
            break
        if answers(question):
            kept.append(question)
    return kept


class Suggestions:
    """The checked suggestions of one index, made once per set of articles (an upload or a
    delete makes them again on the next request); one maker at a time."""

    def __init__(
        self,
        articles: Callable[[], list[Article]],
        answers: Callable[[str], bool],
        count: int = 4,
        checks: int = 12,
        make: Callable[[Sequence[Article]], list[str]] = candidates,
    ) -> None:
        self.articles = articles
        self.answers = answers
        self.make = make
        self.count = count
        self.checks = checks
        self._made: tuple[tuple[Article, ...], list[str]] | None = None
        self._lock = threading.Lock()

    def questions(self) -> list[str]:
        with self._lock:
            articles = tuple(self.articles())
            if self._made is None or self._made[0] != articles:
                made = self.make(articles) if self.checks else []  # 0: no suggestions
                asked = keep_answered(made, self.answers, self.count, self.checks)
                self._made = (articles, asked)
            return list(self._made[1])


def for_engine(engine: Engine, newest: int = 20) -> Suggestions:
    """The suggestions of an engine's index: made from its `newest` articles, each candidate
    asked as a user would ask it (no mode, no dates) and kept unless refused."""
    from qa.schema import AskRequest

    def articles() -> list[Article]:
        catalog = engine.index.catalog
        rows = catalog.newest(newest)
        return [Article(r.title, catalog.text(r.source) or "", r.date) for r in rows]

    def answers(question: str) -> bool:
        return not engine.ask(AskRequest(question=question)).refused

    return Suggestions(articles, answers, checks=engine.settings.suggestion_checks)
