"""The fitted sentence scorer: standardised logistic regression evaluated with numpy.

`reader.json` (committed beside this module) holds the coefficients and the refusal threshold;
`reader.meta.json` records how it was made (data hashes, split, validation scores). Both are
written by `training/train_learned_reader.py`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.answer.reader.features import FEATURES
from qa.errors import BackendError

MODEL_PATH = Path(__file__).resolve().parent / "reader.json"


@dataclass(frozen=True)
class ReaderModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float  # refusal: P(best sentence answers) below it means refuse

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """P(the sentence answers the question) for each row of features."""
        if rows.shape[0] == 0:
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def ignoring(self, names: Sequence[str]) -> ReaderModel:
        """The same model with the features `names` held at their training mean (weight 0):
        a cheap first pass over rows where those features are not computed yet."""
        coef = self.coef.copy()
        coef[[self.features.index(n) for n in names]] = 0.0
        return replace(self, coef=coef)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "logistic-regression",
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: dict[str, object], path: Path = MODEL_PATH) -> ReaderModel:
        features = tuple(str(f) for f in data["features"])  # type: ignore[attr-defined]
        if features != FEATURES:
            raise BackendError(
                f"the reader model {path} was trained on other features than "
                "qa/answer/reader/features.py "
                "computes; retrain it with `python training/train_learned_reader.py`"
            )
        return cls(
            features,
            np.asarray(data["mean"], dtype=float),
            np.asarray(data["scale"], dtype=float),
            np.asarray(data["coef"], dtype=float),
            float(data["intercept"]),  # type: ignore[arg-type]
            float(data["threshold"]),  # type: ignore[arg-type]
        )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> ReaderModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackendError(
            f"cannot read the reader model {path}: {exc}; "
            "retrain it with python -m training.train_learned_reader"
        ) from exc
    return ReaderModel.from_json(data, path)
