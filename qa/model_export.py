"""Exported copies of the packaged embedding model, made once into the models folder.

- OpenVINO fp32 (the default backend): sentence-transformers converts the local safetensors to
  OpenVINO IR; the vectors equal torch's (mean cosine > 0.9999, tests/test_embedding.py), about
  3x faster on these CPUs, so an index built with either backend serves with the other.
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

from filelock import FileLock

log = logging.getLogger(__name__)

QUANTIZATION = "avx512_vnni"  # runs on any x86-64; fastest where the CPU has VNNI
ONNX_FILE = f"onnx/model_qint8_{QUANTIZATION}.onnx"
OPENVINO_FILE = "openvino/openvino_model.xml"


def _folder(cache_dir: Path, model_path: Path, kind: str) -> Path:
    key = hashlib.sha1(str(model_path.resolve()).encode()).hexdigest()[:10]
    return cache_dir / f"{model_path.name}-{key}-{kind}"


def _export_once(target: Path, marker: str, export: Callable[[Path], None]) -> None:
    """Run `export(work_dir)` unless `target/marker` exists; publish by renaming."""
    if (target / marker).exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / ".export.lock")):
        if (target / marker).exists():
            return
        log.warning("exporting the embedding model to %s (once)", target)
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
def _quiet() -> Iterator[None]:
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


def load_openvino(model_path: Path, cache_dir: Path) -> Any:
    """The OpenVINO fp32 model for `model_path`, exported under `cache_dir` on first use."""
    from sentence_transformers import SentenceTransformer

    def export(work: Path) -> None:
        model = SentenceTransformer(
            str(model_path), device="cpu", backend="openvino", local_files_only=True
        )
        model.save_pretrained(str(work))

    target = _folder(cache_dir, model_path, "openvino")
    with _quiet():
        _export_once(target, OPENVINO_FILE, export)
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
    _export_once(target, ONNX_FILE, export)
    return SentenceTransformer(
        str(target),
        device="cpu",
        backend="onnx",
        local_files_only=True,
        model_kwargs={"file_name": ONNX_FILE, "provider": "CPUExecutionProvider"},
    )
