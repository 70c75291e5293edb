"""The question-answering pipeline: condense -> retrieve -> gate -> generate -> verify -> cite."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date

import numpy as np

from qa.config import BACKENDS, Settings
from qa.dates import DateFilter, parse_question_dates
from qa.embedding import CachedEmbedder, Embedder
from qa.errors import InputError
from qa.generators.base import Draft, Generator
from qa.generators.chat import make_chat_generator
from qa.generators.extractive import ExtractiveGenerator
from qa.indexing import Index, make_embedder
from qa.injection import mask, plain_text
from qa.reader.reader import LearnedReader
from qa.retrieval import Mode, Passage, Retriever
from qa.schema import REFUSAL, Answer, AskRequest, Citation, ShortAnswer
from qa.text import MARKER, TRAILING_MARKERS, sentence_spans, split_cited, strip_markers
from qa.verify import Verifier, content_words

_REFUSAL = re.compile(r"\b(do(es)? not (say|contain|mention)|no information|cannot answer)\b", re.I)


split_draft = split_cited  # the sentences of a draft, each with its [n] markers


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
        self.verify_ms = 0.0
        self.short_sent = False

    def add(self, sentence: str) -> str | None:
        if self.llm:
            sentence = plain_text(sentence)
        body = strip_markers(sentence)
        if not body or _REFUSAL.search(body):
            return None
        cited = []
        for group in MARKER.findall(sentence):
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


Factory = Callable[[Settings, str], Generator]


class Engine:
    """The pipeline over one index. Answer backends are generators held by name: the
    extractive one always, chat ones created on first use by their factory."""

    def __init__(
        self,
        settings: Settings,
        index: Index,
        embedder: Embedder,
        generators: Mapping[str, Generator] | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder = CachedEmbedder(embedder)
        self.retriever = Retriever(
            index, embedder, settings.candidates, settings.rrf_k, settings.max_chunks_per_source
        )
        self.reader = LearnedReader(embedder)
        self.extractive = ExtractiveGenerator(self.reader)
        self.verifier = Verifier(embedder, settings.support_threshold)
        self.generators: dict[str, Generator] = {"extractive": self.extractive}
        self.generators.update(generators or {})
        self.factories: dict[str, Factory] = {
            "llamacpp": make_chat_generator,
            "openai": make_chat_generator,
        }
        self._guard = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> Engine:
        embedder = make_embedder(settings)
        return cls(settings, Index(settings, embedder), embedder)

    def generator(self, backend: str) -> Generator:
        """The backend by name, created on first use."""
        with self._guard:
            if backend not in self.generators:
                if backend not in self.factories:
                    raise InputError(f"unknown backend {backend!r}; use one of {BACKENDS}")
                self.generators[backend] = self.factories[backend](self.settings, backend)
            return self.generators[backend]

    def close(self) -> None:
        """Stop what the backends started (the llama.cpp child)."""
        with self._guard:
            for generator in self.generators.values():
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

    def _standalone(self, request: AskRequest, generator: Generator) -> str:
        if not request.history:
            return request.question
        return generator.condense(request.history, request.question)

    def _prepare(
        self, request: AskRequest, generator: Generator, timings: dict[str, float]
    ) -> tuple[str, list[Passage], Draft | None]:
        """Question, passages and the extractive draft, from one pass of the reader (the
        refusal gate, the extractive answer and every backend's fallback); no draft: refuse."""
        started = time.perf_counter()
        question = self._standalone(request, generator)
        passages = self.retrieve(question, request.top_k, request.date_from, request.date_to)
        timings["retrieve"] = _ms(started)
        started = time.perf_counter()
        reading = self.reader.read(question, passages) if passages else None
        timings["evidence"] = _ms(started)
        threshold = self.settings.refusal_threshold
        if threshold is None:
            threshold = self.reader.model.threshold
        if reading is None or not reading.chosen or reading.probability < threshold:
            return question, passages, None
        return question, passages, self.reader.draft(reading, passages)

    def ask(self, request: AskRequest) -> Answer:
        answer = None
        for kind, value in self.stream(request):
            if kind == "final":
                assert isinstance(value, Answer)
                answer = value
        assert answer is not None
        return answer

    def stream(self, request: AskRequest) -> Iterator[tuple[str, object]]:
        """("token", text) as sentences pass verification (with one ("short", ShortAnswer)
        before the first token that holds it), then ("final", Answer)."""
        begun = time.perf_counter()
        timings: dict[str, float] = {}
        backend = request.backend or self.settings.llm_backend
        generator = self.generator(backend)
        question, passages, fallback = self._prepare(request, generator, timings)
        if fallback is None:
            yield "token", REFUSAL
            yield "final", _refusal(backend, question, timings, begun)
            return
        floor = self.settings.relevance_floor
        builder = _Builder(
            passages, self.verifier, fallback, question, not generator.verbatim, floor
        )
        started = time.perf_counter()
        if generator is self.extractive:  # its draft is the one the gate already read
            sentences: Iterator[str] = iter(split_cited(fallback.text))
        else:
            sentences = self._sentences(generator, question, passages)
        yield from self._verified(builder, sentences, True, fallback)
        timings["generate"] = _ms(started) - builder.verify_ms
        timings["verify"] = builder.verify_ms
        if not builder.sentences and generator is not self.extractive:
            # nothing of the LLM's draft survived: the extractive answer, verified the same way
            dropped = builder.dropped
            builder = _Builder(passages, self.verifier, fallback)
            builder.dropped = dropped
            yield from self._verified(builder, iter(split_cited(fallback.text)), True, fallback)
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

    @staticmethod
    def _verified(
        builder: _Builder, sentences: Iterator[str], first: bool, draft: Draft
    ) -> Iterator[tuple[str, object]]:
        """("token", sentence) for each sentence that passes verification, preceded once by
        ("short", ShortAnswer) as soon as a verified citation holds the short answer."""
        for sentence in sentences:
            checked = time.perf_counter()
            kept = builder.add(sentence)
            builder.verify_ms += _ms(checked)
            if kept:
                if not builder.short_sent and (short := builder.short_answer(draft)):
                    builder.short_sent = True
                    yield "short", short
                yield "token", kept if first else " " + kept
                first = False

    @staticmethod
    def _sentences(
        generator: Generator, question: str, passages: Sequence[Passage]
    ) -> Iterator[str]:
        """Complete sentences of a streamed draft (with their trailing [n] markers), each as
        soon as the next sentence has begun."""
        buffer = ""
        for delta in generator.stream(question, passages):
            buffer += delta
            while len(spans := sentence_spans(buffer)) >= 2:
                marks = TRAILING_MARKERS.match(buffer, spans[0][1])
                cut = marks.end() if marks else spans[0][1]
                if not re.search(r"\w", strip_markers(buffer[cut:])):
                    break  # the next sentence has not really started yet
                yield buffer[:cut]
                buffer = buffer[cut:]
        yield from split_cited(buffer)

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
