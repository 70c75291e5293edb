"""The answer backends' names: the one list, in a module with no imports, so that the CLI's
help can name them without loading pydantic (`qa.config` re-exports them)."""

from __future__ import annotations

from typing import Literal, get_args

Backend = Literal["extractive", "llamacpp", "openai"]
BACKENDS: tuple[str, ...] = get_args(Backend)
