"""The question-answering pipeline: condense -> retrieve -> gate -> generate -> verify -> cite."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date

import numpy as np

from qa.chunking import sentence_spans
from qa.config import Settings
from qa.dates import DateFilter, parse_question_dates
from qa.embedding import CachedEmbedder, Embedder
from qa.generators.base import Draft
from qa.generators.chat import ChatGenerator, make_chat_generator
from qa.indexing import Index, make_embedder
from qa.injection import mask, plain_text
from qa.reader.followup import condense_rules
from qa.reader.reader import LearnedReader
from qa.retrieval import Mode, Passage, Retriever
from qa.schema import REFUSAL, Answer, AskRequest, Citation, ShortAnswer
from qa.verify import Verifier, content_words, strip_markers

_MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING = re.compile(r"\A(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_TRAILING = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_REFUSAL = re.compile(r"\b(do(es)? not (say|contain|mention)|no information|cannot answer)\b", re.I)


def split_draft(text: str) -> list[str]:
    """Sentences of a draft, each keeping the [n] markers written right after it."""
    sentences: list[str] = []
    for s, e in sentence_spans(text):
        piece = text[s:e]
        lead = _LEADING.match(piece)
        if lead and sentences:
            sentences[-1] += lead.group()
            piece = piece[lead.end() :]
        if piece.strip():
            sentences.append(piece.strip())
    return sentences


class _Builder:
    """Verifies draft sentences one at a time and numbers citations in order of appearance.

    Each [n] must support its sentence on its own, from text not flagged as instructions (a
    flagged sentence counts only when quoted verbatim). An LLM sentence is first reduced to plain
    text and must relate to the question (similarity at least `floor`).
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        verifier: Verifier,
        draft: Draft,
        question: str = "",
        llm: bool = False,
        floor: float = 0.0,
    ) -> None:
        self.passages = passages
        self.verifier = verifier
        self.question = question
        self.llm = llm
        self.floor = floor
        self.spans = draft.spans
        self.numbers: dict[int, int] = {}  # passage number in the draft -> citation n
        self.citations: list[Citation] = []
        self.sentences: list[str] = []
        self.dropped = 0

    def add(self, sentence: str) -> str | None:
        if self.llm:
            sentence = plain_text(sentence)
        body = strip_markers(sentence)
        if not body or _REFUSAL.search(body):
            return None
        cited = []
        for group in _MARKERS.findall(sentence):
            for m in (int(x) for x in group.split(",")):
                if 1 <= m <= len(self.passages) and m not in cited:
                    cited.append(m)  # markers pointing at nothing retrieved are dropped here
        if not cited:  # attribute an uncited sentence to the passage that supports it best
            probe = self.verifier.check(body, [p.text for p in self.passages])
            cited = [probe.best + 1] if probe.supported else []
        supported = [(m, span) for m in cited if (span := self._support(body, m)) is not None]
        if not supported or (self.llm and not self._relevant(body)):
            self.dropped += 1
            return None
        marks = "".join(f"[{self._cite(m, body, span)}]" for m, span in supported)
        rendered = f"{body} {marks}"
        self.sentences.append(rendered)
        return rendered

    def _support(self, body: str, m: int) -> tuple[int, int] | None:
        """The span of passage m supporting `body` by itself, or None; flagged text is blanked
        out unless `body` quotes one of its sentences verbatim."""
        p = self.passages[m - 1]
        text = mask(p.text, p.flagged) if p.flagged else p.text
        support = self.verifier.check(body, [text])
        if not support.supported and p.flagged:
            support = self.verifier.quote(body, [p.text]) or support
        if not support.supported:
            return None
        start, end = support.span
        while start < end and text[start].isspace():
            start += 1
        return start, end

    def _relevant(self, body: str) -> bool:
        if self.floor <= 0 or not self.question:
            return True
        question, sentence = self.verifier.embedder.embed_documents([self.question, body])
        return float(np.dot(question, sentence)) >= self.floor

    def short_answer(self, draft: Draft) -> ShortAnswer | None:
        """The draft's short answer, when the quote of the passage it came from holds it."""
        if draft.short is None or draft.short[0] not in self.numbers:
            return None
        m, start, end = draft.short
        citation = self.citations[self.numbers[m] - 1]
        if not (citation.start <= start < end <= citation.end):
            return None
        p = self.passages[m - 1]
        text = p.text[start - p.start : end - p.start]
        return ShortAnswer(text=text, n=citation.n, start=start, end=end)

    def _cite(self, m: int, sentence: str, span: tuple[int, int] | None) -> int:
        if m in self.numbers:
            return self.numbers[m]
        p = self.passages[m - 1]
        if m in self.spans:
            start, end = self.spans[m]
        else:
            if span is None:  # the passage sentence sharing most content words
                words = content_words(sentence)
                span = max(
                    sentence_spans(p.text) or [(0, len(p.text))],
                    key=lambda se: len(words & content_words(p.text[se[0] : se[1]])),
                )
            start, end = p.start + span[0], p.start + span[1]
        n = len(self.numbers) + 1
        self.numbers[m] = n
        self.citations.append(
            Citation(
                n=n,
                source=p.source,
                date=p.date,
                title=p.title,
                chunk_id=p.chunk_id,
                start=start,
                end=end,
                quote=p.text[start - p.start : end - p.start],
            )
        )
        return n


class Engine:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder = CachedEmbedder(embedder)
        self.retriever = Retriever(
            index, embedder, settings.candidates, settings.rrf_k, settings.max_chunks_per_source
        )
        self.extractive = LearnedReader(embedder)
        self.verifier = Verifier(embedder, settings.support_threshold)
        self._chat: dict[str, ChatGenerator] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> Engine:
        embedder = make_embedder(settings)
        return cls(settings, Index(settings, embedder), embedder)

    def chat(self, backend: str) -> tuple[ChatGenerator, threading.Lock]:
        """The LLM backend, created on first use (llama.cpp models are not thread-safe)."""
        with self._guard:
            if backend not in self._chat:
                self._chat[backend] = make_chat_generator(self.settings, backend)
                self._locks[backend] = threading.Lock()
            return self._chat[backend], self._locks[backend]

    def close(self) -> None:
        """Stop what the backends started (the llama.cpp child)."""
        with self._guard:
            for generator in self._chat.values():
                generator.close()

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        mode: Mode = "hybrid",
    ) -> list[Passage]:
        dates = self._dates(question, date_from, date_to)
        return self.retriever.search(question, top_k or self.settings.top_k, dates, mode)

    def _dates(self, question: str, date_from: date | None, date_to: date | None) -> DateFilter:
        """Explicit dates win; otherwise dates stated in the question, read against the corpus."""
        if date_from or date_to:
            return DateFilter(date_from, date_to)
        return parse_question_dates(question, self.index.catalog.last_date() or date.today())

    def _standalone(self, request: AskRequest, backend: str) -> str:
        if not request.history:
            return request.question
        if backend == "extractive":
            return condense_rules(request.history, request.question)
        generator, lock = self.chat(backend)
        with lock:
            return generator.condense(request.history, request.question)

    def _prepare(
        self, request: AskRequest, timings: dict[str, float]
    ) -> tuple[str, str, list[Passage], Draft | None]:
        """Question, backend, passages and (extractive) draft; no draft means refuse."""
        backend = request.backend or self.settings.llm_backend
        started = time.perf_counter()
        question = self._standalone(request, backend)
        passages = self.retrieve(question, request.top_k, request.date_from, request.date_to)
        timings["retrieve"] = _ms(started)
        started = time.perf_counter()
        reading = self.extractive.read(question, passages) if passages else None
        timings["evidence"] = _ms(started)
        threshold = self.settings.refusal_threshold
        if threshold is None:
            threshold = self.extractive.model.threshold
        if reading is None or not reading.chosen or reading.probability < threshold:
            return question, backend, passages, None
        return question, backend, passages, self.extractive.draft(reading, passages)

    def ask(self, request: AskRequest) -> Answer:
        answer = None
        for kind, value in self.stream(request):
            if kind == "final":
                assert isinstance(value, Answer)
                answer = value
        assert answer is not None
        return answer

    def stream(self, request: AskRequest) -> Iterator[tuple[str, object]]:
        """("token", text) as sentences pass verification, then ("final", Answer)."""
        begun = time.perf_counter()
        timings: dict[str, float] = {}
        question, backend, passages, fallback = self._prepare(request, timings)
        if fallback is None:
            yield "token", REFUSAL
            yield "final", _refusal(backend, question, timings, begun)
            return
        llm = backend != "extractive"
        floor = self.settings.relevance_floor
        builder = _Builder(passages, self.verifier, fallback, question, llm, floor)
        verify_ms = 0.0
        started = time.perf_counter()
        if backend == "extractive":
            sentences: Iterator[str] = iter(split_draft(fallback.text))
        else:
            sentences = self._llm_sentences(backend, question, passages)
        first = True
        for sentence in sentences:
            checked = time.perf_counter()
            kept = builder.add(sentence)
            verify_ms += _ms(checked)
            if kept:
                yield "token", kept if first else " " + kept
                first = False
        timings["generate"] = _ms(started) - verify_ms
        timings["verify"] = verify_ms
        if not builder.sentences and backend != "extractive":  # nothing survived: extractive
            dropped = builder.dropped
            builder = _Builder(passages, self.verifier, fallback)
            builder.dropped = dropped
            for sentence in split_draft(fallback.text):
                kept = builder.add(sentence)
                if kept:
                    yield "token", kept if first else " " + kept
                    first = False
        if not builder.sentences:
            yield "token", REFUSAL
            yield "final", _refusal(backend, question, timings, begun, builder.dropped)
            return
        timings["total"] = _ms(begun)
        yield (
            "final",
            Answer(
                answer=" ".join(builder.sentences),
                short_answer=builder.short_answer(fallback),
                refused=False,
                citations=builder.citations,
                backend=backend,
                timings_ms=timings,
                dropped_sentences=builder.dropped,
                question=question,
            ),
        )

    def _llm_sentences(
        self, backend: str, question: str, passages: Sequence[Passage]
    ) -> Iterator[str]:
        """Complete sentences of the LLM's streamed draft (with their trailing [n] markers),
        each as soon as the next sentence has begun."""
        generator, lock = self.chat(backend)
        buffer = ""
        with lock:
            for delta in generator.stream(question, passages):
                buffer += delta
                while len(spans := sentence_spans(buffer)) >= 2:
                    marks = _TRAILING.match(buffer, spans[0][1])
                    cut = marks.end() if marks else spans[0][1]
                    if not re.search(r"\w", strip_markers(buffer[cut:])):
                        break  # the next sentence has not really started yet
                    yield buffer[:cut]
                    buffer = buffer[cut:]
        yield from split_draft(buffer)

    # -- what the evaluation needs (qa.evaluation.runner.EvalEngine) --------------------------

    def supports(self, sentence: str, evidence: Sequence[str]) -> bool:
        """The verification step's own yes/no: does `evidence` support `sentence`?"""
        return self.verifier.check(sentence, evidence).supported

    def chunk_texts(self, ids: list[str]) -> dict[str, str]:
        """Chunk texts by id, from the store."""
        chunks = self.index.store.get(ids=list(dict.fromkeys(ids))) if ids else []
        return {c.chunk_id: c.text for c in chunks}


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _refusal(
    backend: str, question: str, timings: dict[str, float], begun: float, dropped: int = 0
) -> Answer:
    timings["total"] = _ms(begun)
    return Answer(
        answer=REFUSAL,
        refused=True,
        citations=[],
        backend=backend,
        timings_ms=timings,
        dropped_sentences=dropped,
        question=question,
    )
