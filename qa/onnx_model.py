"""ONNX export of the packaged model, made once and kept on disk (never downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_onnx(model_path: Path, cache_dir: Path) -> Any:
    """Load (exporting on first use) an ONNX copy of `model_path` under `cache_dir`."""
    from sentence_transformers import SentenceTransformer

    target = cache_dir / "onnx" / model_path.name
    if not (target / "onnx" / "model.onnx").exists():
        model = SentenceTransformer(
            str(model_path), device="cpu", backend="onnx", local_files_only=True
        )
        model.save_pretrained(str(target))
    return SentenceTransformer(str(target), device="cpu", backend="onnx", local_files_only=True)
