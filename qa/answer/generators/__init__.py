"""Answer backends, one role behind one protocol (`base.Generator`): the extractive reader,
and chat models (llama.cpp in a supervised child process, any OpenAI-compatible server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.answer.generators.base import Generator
    from qa.config import Settings

Factory = Callable[["Settings", str], "Generator"]


def make_chat_generator(settings: Settings, backend: str) -> Generator:
    """A chat backend; LangChain's and OpenAI's clients are imported on its first use only."""
    from qa.answer.generators.chat import make_chat_generator as make

    return make(settings, backend)
