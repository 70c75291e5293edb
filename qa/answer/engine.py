"""The question-answering pipeline: condense -> retrieve -> gate -> generate -> verify -> cite."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Generic, TypeVar

from qa.answer.citations import CitationBuilder
from qa.answer.generators import Factory, make_chat_generator
from qa.answer.generators.base import Generator
from qa.answer.generators.extractive import ExtractiveGenerator
from qa.answer.newer import AS_WELL, NewerReports
from qa.answer.reader.neural import FallbackReader, NeuralReader
from qa.answer.reader.reader import LearnedReader, Reader, to_draft
from qa.answer.stream import draft_sentences, final, ms, refusal, verified
from qa.answer.timeline import Timeline, detect, line
from qa.answer.verify import Verifier
from qa.config import BACKENDS, Settings
from qa.errors import InputError
from qa.schema import REFUSAL, Answer, AskRequest, Turn
from qa.search.dates import DateFilter, parse_question_dates
from qa.search.embedding import CachedEmbedder, Embedder, make_embedder
from qa.search.index import SearchIndex
from qa.search.retrieval import Mode, Retriever
from qa.text import lead, split_cited
from qa.types import Draft, Passage

IndexT = TypeVar("IndexT", bound=SearchIndex)  # the service's is the writable ingest Index


class Engine(Generic[IndexT]):
    """The pipeline over one index. Answer backends are generators held by name: the
    extractive one always, chat ones created on first use by their factory."""

    def __init__(
        self,
        settings: Settings,
        index: IndexT,
        embedder: Embedder,
        generators: Mapping[str, Generator] | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        index.store.load()  # before any query: embedded Chroma's files, one process at a time
        self.embedder = embedder = CachedEmbedder(embedder)
        self.retriever = Retriever.from_settings(index, embedder, settings)
        # timelines score every sentence with it, newer reports compare quotes with it
        self.learned = learned = LearnedReader(embedder, shortlist=settings.learned.shortlist)
        neural = NeuralReader(
            recency_weight=settings.recency_weight,
            backend=settings.reader_backend,
            model_dir=settings.models_folder,
        )
        readers: dict[str, Reader] = {
            "neural": neural,
            "learned": learned,
            "neural+learned": FallbackReader(neural, learned),
        }
        self.reader: Reader = readers[settings.reader]
        self.extractive = ExtractiveGenerator(self.reader)
        self.verifier = Verifier(embedder, settings.support_threshold)
        self.timeline = Timeline(index, embedder, learned, self.verifier, settings)
        # newer reports compare how well two quotes answer, read alone: the learned reader's
        # probabilities, at its own validated threshold
        as_well = AS_WELL if settings.newer_as_well is None else settings.newer_as_well
        self.newer = NewerReports(
            self.retriever, learned, self.verifier, learned.threshold, as_well, settings.newer
        )
        self.generators: dict[str, Generator] = {"extractive": self.extractive}
        self.generators.update(generators or {})
        self.factories: dict[str, Factory] = {
            "llamacpp": make_chat_generator,
            "openai": make_chat_generator,
        }
        self._guard = threading.Lock()
        self.today: Callable[[], date] = date.today  # the default as_of; tests set their own

    @classmethod
    def open(
        cls, settings: Settings, index: Callable[[Settings, Embedder], IndexT]
    ) -> Engine[IndexT]:
        """The engine over the index that `index` opens: the caller chooses it (the service and
        the CLI pass `qa.ingest.index.Index`, which also writes)."""
        embedder = make_embedder(settings)
        return cls(settings, index(settings, embedder), embedder)

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

    def warm_up(self) -> list[Answer]:
        """Ask about the newest article through the public answer path, so that whatever a
        first request would load (the embedding model, Chroma, BM25, the catalog, the reader
        and spaCy, a backend's model) is loaded now: a statement-like question (answered and
        cited), a typed follow-up to it (condensing, entities) and a timeline. An index
        without articles has nothing to load."""
        rows = sorted(self.index.catalog.rows().values(), key=lambda r: r.date or date.min)
        if not rows:
            return []
        newest = rows[-1]
        question = lead(newest.title or self.index.catalog.text(newest.source) or "") or "What?"
        first = self.ask(AskRequest(question=question, mode="answer"))
        said = [Turn(role="user", content=question), Turn(role="assistant", content=first.answer)]
        follow_up = self.ask(AskRequest(question="Who?", history=said, mode="answer"))
        return [first, follow_up, self.ask(AskRequest(question=question, mode="timeline"))]

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        mode: Mode = "hybrid",
        as_of: date | None = None,
    ) -> list[Passage]:
        dates = self._dates(question, date_from, date_to, as_of)
        return self.retriever.search(question, top_k or self.settings.top_k, dates, mode)

    def _dates(
        self, question: str, date_from: date | None, date_to: date | None, as_of: date | None
    ) -> DateFilter:
        """The filter retrieval gets, always holding the moment asked (`as_of`, default today):
        an explicit range wins; otherwise the question's dates, relative ones read as of
        `as_of` and those without a year against the newest article not after it."""
        moment = as_of or self.today()
        if date_from or date_to:
            return DateFilter(date_from, date_to, as_of=moment)
        newest = self.index.catalog.last_date()
        return parse_question_dates(question, min(moment, newest) if newest else moment, moment)

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
        passages = self.retrieve(
            question, request.top_k, request.date_from, request.date_to, as_of=request.as_of
        )
        timings["retrieve"] = ms(started)
        started = time.perf_counter()
        as_of = request.as_of or self.today()  # the moment asked about: the recency prior's
        if request.date_to:
            as_of = min(as_of, request.date_to)
        reading = self.reader.read(question, passages, as_of) if passages else None
        timings["evidence"] = ms(started)
        threshold = self.settings.refusal_threshold
        if threshold is None:
            threshold = self.reader.threshold
        if reading is None or not reading.chosen or reading.confidence < threshold:
            return question, passages, None
        return question, passages, to_draft(reading, passages)

    def ask(self, request: AskRequest) -> Answer:
        return final(self.stream(request))

    def stream(self, request: AskRequest) -> Iterator[tuple[str, object]]:
        """("token", text) as sentences pass verification, each preceded by ("citation",
        Citation) for every citation it is the first to use and, once, by ("short",
        ShortAnswer) as soon as a verified citation holds it; then ("final", Answer); for a
        timeline, ("timeline", TimelineEvent) per line instead of tokens. The question is
        asked as of `request.as_of` (default: today), which the final Answer states."""
        moment = request.as_of or self.today()
        for kind, value in self._stream(request.model_copy(update={"as_of": moment})):
            if kind == "final" and isinstance(value, Answer):
                value = value.model_copy(update={"as_of": moment})
                if value.mode == "answer" and not value.refused and self.settings.newer_reports:
                    value = self._newer(request, value, moment)
            yield kind, value

    def _newer(self, request: AskRequest, answer: Answer, moment: date) -> Answer:
        """The answer with its newer reports (qa/answer/newer.py)."""
        started = time.perf_counter()
        question = answer.question or request.question
        dates = self._dates(question, request.date_from, request.date_to, moment)
        newer = self.newer.find(question, answer, dates)
        timings = {**answer.timings_ms, "newer": ms(started)}
        timings["total"] = round(timings.get("total", 0.0) + timings["newer"], 2)
        return answer.model_copy(update={"newer": newer, "timings_ms": timings})

    def _stream(self, request: AskRequest) -> Iterator[tuple[str, object]]:
        begun = time.perf_counter()
        timings: dict[str, float] = {}
        backend = request.backend or self.settings.llm_backend
        generator = self.generator(backend)
        if (request.mode or ("timeline" if detect(request.question) else "answer")) == "timeline":
            yield from self._timeline(request, generator, timings, begun)
            return
        question, passages, fallback = self._prepare(request, generator, timings)
        if fallback is None:
            yield "token", REFUSAL
            yield "final", refusal(backend, question, timings, begun)
            return
        floor = self.settings.relevance_floor
        builder = CitationBuilder(
            passages, self.verifier, fallback, question, not generator.verbatim, floor
        )
        started = time.perf_counter()
        if generator is self.extractive:  # its draft is the one the gate already read
            sentences: Iterator[str] = iter(split_cited(fallback.text))
        else:
            sentences = draft_sentences(generator, question, passages)
        yield from verified(builder, sentences, True, fallback)
        timings["generate"] = ms(started) - builder.verify_ms
        timings["verify"] = builder.verify_ms
        fell_back = not builder.sentences and generator is not self.extractive
        if fell_back:
            # nothing of the LLM's draft survived: the extractive answer, verified the same way
            dropped = builder.dropped
            builder = CitationBuilder(passages, self.verifier, fallback)
            builder.dropped = dropped
            yield from verified(builder, iter(split_cited(fallback.text)), True, fallback)
        if not builder.sentences:
            yield "token", REFUSAL
            yield "final", refusal(backend, question, timings, begun, builder.dropped)
            return
        timings["total"] = ms(begun)
        yield (
            "final",
            Answer(
                answer=" ".join(builder.sentences),
                short_answer=builder.short_answer(fallback),
                refused=False,
                citations=builder.citations,
                backend=self.extractive.name if fell_back else backend,
                fallback=fell_back,
                timings_ms=timings,
                dropped_sentences=builder.dropped,
                question=question,
            ),
        )

    def _timeline(
        self, request: AskRequest, generator: Generator, timings: dict[str, float], begun: float
    ) -> Iterator[tuple[str, object]]:
        """A dated list of events (qa/answer/timeline.py), oldest first, each line verified and
        cited; its sentences are quotes chosen by the reader, whatever the backend."""
        started = time.perf_counter()
        question = self._standalone(request, generator)
        dates = self._dates(question, request.date_from, request.date_to, request.as_of)
        top_k = request.top_k or self.settings.timeline.passages
        passages = self.timeline.passages(question, dates, top_k)
        timings["retrieve"] = ms(started)
        started = time.perf_counter()
        builder, events = self.timeline.build(question, passages) if passages else (None, [])
        timings["evidence"] = ms(started)
        if builder is None or not events:
            yield "token", REFUSAL
            dropped = builder.dropped if builder else 0
            refused = refusal(self.extractive.name, question, timings, begun, dropped)
            yield "final", refused.model_copy(update={"mode": "timeline"})
            return
        for event in events:
            yield "timeline", event
        timings["total"] = ms(begun)
        yield (
            "final",
            Answer(
                answer="\n".join(line(e) for e in events),
                refused=False,
                citations=builder.citations,
                backend=self.extractive.name,
                timings_ms=timings,
                dropped_sentences=builder.dropped,
                question=question,
                mode="timeline",
                events=events,
            ),
        )

    # -- what the evaluation needs (qa.evaluation.runner.EvalEngine) --------------------------

    def supports(self, sentence: str, evidence: Sequence[str]) -> bool:
        """The verification step's own yes/no: does `evidence` support `sentence`?"""
        return self.verifier.check(sentence, evidence).supported

    def chunk_texts(self, ids: list[str]) -> dict[str, str]:
        """Chunk texts by id, from the store."""
        chunks = self.index.store.get(ids=list(dict.fromkeys(ids))) if ids else []
        return {c.chunk_id: c.text for c in chunks}
