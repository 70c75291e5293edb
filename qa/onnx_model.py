"""The int8 ONNX copy of the packaged model: exported once into the index's models/ folder.

sentence-transformers converts the local safetensors to ONNX (optimum) and quantizes it
dynamically for avx512_vnni; nothing is downloaded. About 2x faster than torch fp32 on these
CPUs, with a mean cosine of ~0.99 to the fp32 vectors (bench/scale.py measures it).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from filelock import FileLock

log = logging.getLogger(__name__)

QUANTIZATION = "avx512_vnni"  # runs on any x86-64; fastest where the CPU has VNNI
FILE_NAME = f"onnx/model_qint8_{QUANTIZATION}.onnx"


def onnx_folder(cache_dir: Path) -> Path:
    return cache_dir / f"onnx-qint8-{QUANTIZATION}"


def export_onnx(model_path: Path, target: Path) -> None:
    """Export `model_path` to fp32 ONNX and its dynamic int8 quantization, into `target`."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        model = SentenceTransformer(
            str(model_path), device="cpu", backend="onnx", local_files_only=True
        )
        model.save_pretrained(str(work))
        export_dynamic_quantized_onnx_model(model, QUANTIZATION, str(work))
        if not (work / FILE_NAME).exists():
            raise FileNotFoundError(f"the export did not write {FILE_NAME} in {work}")
        (work / "onnx" / "model.onnx").unlink(missing_ok=True)  # the fp32 step: 90 MB unused
        work.chmod(0o755)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_onnx(model_path: Path, cache_dir: Path) -> Any:
    """The int8 ONNX model for `model_path`, exported under `cache_dir` on first use."""
    from sentence_transformers import SentenceTransformer

    target = onnx_folder(cache_dir)
    if not (target / FILE_NAME).exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cache_dir / ".export.lock")):  # replicas export once
            if not (target / FILE_NAME).exists():
                log.warning("exporting %s to int8 ONNX in %s (once)", model_path, target)
                export_onnx(model_path, target)
    return SentenceTransformer(
        str(target),
        device="cpu",
        backend="onnx",
        local_files_only=True,
        model_kwargs={"file_name": FILE_NAME, "provider": "CPUExecutionProvider"},
    )
