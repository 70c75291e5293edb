"""qa/config.py: one settings object; stage tuning in nested groups read from QA_<STAGE>__<FIELD>
beside the flat QA_* names, and the fingerprint an evaluation report records."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from qa.config import Settings
from qa.evaluation.runner import git_commit
from tests.conftest import ROOT


def test_stage_fields_come_from_nested_names_and_flat_names_still_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QA_TIMELINE__FLOOR", "0.01")
    monkeypatch.setenv("QA_RETRIEVAL", '{"exact_up_to": 100}')
    monkeypatch.setenv("QA_RRF_K", "30")
    monkeypatch.setenv("QA_TOP_K", "5")
    settings = Settings()
    assert settings.timeline.floor == 0.01 and settings.timeline.merge == 0.8
    assert settings.retrieval.exact_up_to == 100 and settings.retrieval.ids_up_to == 50_000
    assert (settings.rrf_k, settings.top_k) == (30, 5)


def test_a_misspelt_stage_field_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_TIMELINE__FLOR", "0.01")
    with pytest.raises(ValidationError, match="flor"):
        Settings()


def test_every_stage_field_says_how_its_value_was_chosen() -> None:
    for group in ("retrieval", "learned", "timeline", "newer"):
        stage = getattr(Settings(), group)
        for name, field in type(stage).model_fields.items():
            assert field.description and len(field.description) > 20, (group, name)


def test_the_fingerprint_follows_what_shapes_answers_not_where_files_are(tmp_path: Path) -> None:
    base = Settings()
    moved = base.model_copy(update={"index_dir": tmp_path, "api_key": "secret"})
    assert moved.fingerprint() == base.fingerprint()
    tuned = Settings(timeline={"floor": 0.01})
    assert tuned.fingerprint() != base.fingerprint()
    assert Settings(top_k=3).fingerprint() != base.fingerprint()


def test_the_commit_is_this_checkout_s(tmp_path: Path) -> None:
    commit = git_commit(ROOT)
    assert commit is not None and len(commit.removesuffix("+dirty")) == 40
    assert git_commit(tmp_path) is None  # not a git checkout: an installed wheel
