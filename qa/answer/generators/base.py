"""The answer-backend role: what every generator takes and gives, and the prompt files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Protocol

from qa.errors import BackendError
from qa.types import Draft

if TYPE_CHECKING:
    from qa.schema import Turn
    from qa.types import Passage

# the top-level prompts/ folder, shipped in the wheel as package data: qa/prompts is a link to it
# in the repository (so an editable install reads the folder itself) and a copy in a wheel
PROMPTS: Traversable = files("qa") / "prompts"


class Generator(Protocol):
    """An answer backend: a draft from passages (whole or streamed), and a standalone
    question from a conversation."""

    name: str
    verbatim: bool  # True when its sentences are quotes of the passages (no free text)

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft: ...
    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]: ...
    def condense(self, history: Sequence[Turn], question: str) -> str: ...
    def close(self) -> None:
        """Release what the backend started (a child process); a no-op for most."""


@lru_cache
def load_prompt(name: str, folder: Traversable = PROMPTS) -> str:
    path = folder / f"{name}.txt"
    if not path.is_file():
        raise BackendError(f"prompt {name!r} not found at {path}")
    return path.read_text(encoding="utf-8")


def format_passages(passages: Sequence[Passage]) -> str:
    """Passages wrapped and labelled as untrusted data; markup inside them is neutralised."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        body = p.text.replace("<", "‹").replace(">", "›")
        when = p.date.isoformat() if p.date else "date unknown"
        blocks.append(f'<passage n="{n}" source="{p.source}" date="{when}">\n{body}\n</passage>')
    return "\n".join(blocks)
