"""What every `qa` command shares: the error exit, settings with command-line overrides, and
the corpus and index folder options."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from qa.errors import QAError

if TYPE_CHECKING:  # pydantic-settings is not imported for --help
    from qa.config import Settings

CorpusOption = Annotated[Path | None, typer.Option(help="Corpus folder (QA_CORPUS_DIR).")]
IndexDirOption = Annotated[Path | None, typer.Option(help="Index folder (QA_INDEX_DIR).")]


def fail(exc: QAError) -> NoReturn:
    """Print a service error in red and exit 2 (bad input or state, nothing changed)."""
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def index_or_fail(settings: Settings) -> None:
    """Exit 2, creating nothing, when `qa ingest` never built an index in the index folder."""
    from qa.search.index_files import require_index

    try:
        require_index(settings)
    except QAError as exc:
        fail(exc)


def settings_with(**overrides: object) -> Settings:
    """The settings, with the options the user gave on the command line (None: not given)."""
    from qa.config import get_settings

    base = get_settings()
    values = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=values) if values else base


def quiet_logging() -> None:
    """Only errors from libraries; the embedding model's own lines (its one-time export, a
    fallback from OpenVINO to torch) stay visible. Corpus problems are printed in the summary."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s")
    for name in ("qa.search.embedding", "qa.search.model_export"):
        logging.getLogger(name).setLevel(logging.WARNING)
