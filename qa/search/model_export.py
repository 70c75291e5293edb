"""Exported copies of the packaged models, made once into the models folder.

The span reader's OpenVINO copy is made the same way (`export_once`, qa/answer/reader/span.py).

- OpenVINO fp32 (the default backend): sentence-transformers converts the local safetensors to
  OpenVINO IR; the vectors equal torch's (mean cosine > 0.9999, tests/test_embedding.py), about
  3x faster on these CPUs, so an index built with either backend serves with the other. Once
  exported it runs with `openvino` and `tokenizers` alone (OpenVINOEncoder): opening it no longer
  imports torch, transformers and sentence-transformers (~20 s of a cold `qa ask` on 2 busy cores).
- ONNX int8: sentence-transformers' dynamic quantization for avx512_vnni; other vectors
  (cosine ~0.99 to fp32), so its indexes are kept apart (`+onnx-qint8` in the model name).

Nothing is downloaded: the export reads the packaged model folder. Replicas sharing the folder
export once (a file lock); a half-written export is never visible (written aside, then renamed).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

log = logging.getLogger(__name__)

QUANTIZATION = "avx512_vnni"  # runs on any x86-64; fastest where the CPU has VNNI
ONNX_FILE = f"onnx/model_qint8_{QUANTIZATION}.onnx"
OPENVINO_FILE = "openvino/openvino_model.xml"


def _folder(cache_dir: Path, model_path: Path, kind: str) -> Path:
    key = hashlib.sha1(str(model_path.resolve()).encode()).hexdigest()[:10]
    return cache_dir / f"{model_path.name}-{key}-{kind}"


def export_once(target: Path, marker: str, export: Callable[[Path], None]) -> None:
    """Run `export(work_dir)` unless `target/marker` exists; publish by renaming."""
    if (target / marker).exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / ".export.lock")):
        if (target / marker).exists():
            return
        log.warning("exporting a model to %s (once)", target)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
        try:
            export(work)
            if not (work / marker).exists():
                raise FileNotFoundError(f"the export did not write {marker} in {work}")
            work.chmod(0o755)
            work.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence the exporters' chatter (tracer warnings, "could not infer ..." notes): the
    export is announced by our own log line, and real failures still raise."""
    with suppress(ImportError):  # they set their loggers' levels when first imported
        import optimum.intel.openvino  # noqa: F401
    names = ("optimum", "transformers", "nncf", "sentence_transformers.backend")
    noisy = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in noisy]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in noisy:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(noisy, levels, strict=True):
                logger.setLevel(level)


class OpenVINOEncoder:
    """An exported OpenVINO model run the way sentence-transformers runs it (tokenize with
    truncation to `max_length` and padding to the longest, the transformer, mean pooling over
    the attention mask, L2 norm), with `openvino` and `tokenizers` only. It offers the two
    things SentenceEmbedder uses of a SentenceTransformer: `encode` and `tokenizer`."""

    def __init__(self, folder: Path, max_length: int) -> None:
        import openvino as ov
        from tokenizers import Tokenizer

        self.model = ov.Core().compile_model(str(folder / OPENVINO_FILE), "CPU")
        self.inputs = {port.get_any_name() for port in self.model.inputs}
        self.plain = Tokenizer.from_file(str(folder / "tokenizer.json"))
        padding = self.plain.padding or {"pad_id": 0, "pad_token": "[PAD]"}
        self.plain.no_truncation()
        self.plain.no_padding()
        self.batched = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.batched.enable_truncation(max_length=max_length)
        self.batched.enable_padding(pad_id=padding["pad_id"], pad_token=padding["pad_token"])
        self.max_seq_length = max_length

    def tokenizer(
        self, texts: list[str], add_special_tokens: bool = True, truncation: bool = False
    ) -> dict[str, list[list[int]]]:
        """Token ids, untruncated (what the chunker counts), like a transformers tokenizer."""
        encoded = self.plain.encode_batch(texts, add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encoded]}

    counting_tokenizer = tokenizer  # its own Tokenizer: safe beside `encode` in another thread

    def encode(
        self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True, **_: Any
    ) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):
            encoded = self.batched.encode_batch(texts[i : i + batch_size])
            arrays = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            hidden = self.model({k: v for k, v in arrays.items() if k in self.inputs})[0]
            mask = arrays["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if normalize_embeddings:
                pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out.append(pooled.astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)

    def get_embedding_dimension(self) -> int:
        return int(self.model.output(0).get_partial_shape()[2].get_length())


def load_openvino(model_path: Path, cache_dir: Path, max_length: int | None = None) -> Any:
    """The OpenVINO fp32 model for `model_path`, exported under `cache_dir` on first use; run
    by OpenVINOEncoder when the model's `max_length` is known, else by sentence-transformers."""

    def export(work: Path) -> None:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(
            str(model_path), device="cpu", backend="openvino", local_files_only=True
        )
        model.save_pretrained(str(work))

    target = _folder(cache_dir, model_path, "openvino")
    if not (target / OPENVINO_FILE).exists():  # quiet imports the exporters: only to export
        with quiet():
            export_once(target, OPENVINO_FILE, export)
    if max_length is not None:
        try:
            return OpenVINOEncoder(target, max_length)
        except Exception as exc:  # sentence-transformers' own OpenVINO path still works
            log.info("OpenVINO without sentence-transformers failed (%s): using it", exc)
    from sentence_transformers import SentenceTransformer

    with quiet():
        return SentenceTransformer(
            str(target),
            device="cpu",
            backend="openvino",
            local_files_only=True,
            model_kwargs={"file_name": OPENVINO_FILE},
        )


def load_onnx(model_path: Path, cache_dir: Path) -> Any:
    """The int8 ONNX model for `model_path`, exported under `cache_dir` on first use."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    def export(work: Path) -> None:
        model = SentenceTransformer(
            str(model_path), device="cpu", backend="onnx", local_files_only=True
        )
        model.save_pretrained(str(work))
        export_dynamic_quantized_onnx_model(model, QUANTIZATION, str(work))
        (work / "onnx" / "model.onnx").unlink(missing_ok=True)  # the fp32 step: 90 MB unused

    target = _folder(cache_dir, model_path, f"onnx-qint8-{QUANTIZATION}")
    export_once(target, ONNX_FILE, export)
    return SentenceTransformer(
        str(target),
        device="cpu",
        backend="onnx",
        local_files_only=True,
        model_kwargs={"file_name": ONNX_FILE, "provider": "CPUExecutionProvider"},
    )
