"""Upload checks: a file name is checked, never trimmed, and every file of an upload is read
before anything is written, so one bad file rejects the whole upload."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.errors import InputError
from qa.ingest.corpus import SUPPORTED, ReadResult, read_bytes

MAX_NAME_BYTES = 255  # a file name's limit on ext4, xfs, btrfs, APFS, NTFS (in UTF-8 bytes)
_SAFE_NAME = re.compile(r"[\w\-.,()+ ]+")  # letters and digits of any script, and these


def safe_name(name: str) -> str:
    """An upload's file name, checked (never trimmed): a plain name of safe characters, at most
    255 bytes, with a supported extension."""
    if (
        not _SAFE_NAME.fullmatch(name)
        or name != name.strip()
        or name.startswith(".")
        or "\x00" in name
    ):
        raise InputError(
            f"upload name {name!r} must be a plain file name such as article.txt: letters, "
            "digits, spaces and - _ . , ( ) + only; no folders, '#', '%' or control characters"
        )
    if len(name.encode()) > MAX_NAME_BYTES:
        raise InputError(
            f"upload name {name[:40]!r}... is {len(name.encode())} bytes in UTF-8; "
            f"file names are limited to {MAX_NAME_BYTES} bytes, use a shorter one"
        )
    if not name.lower().endswith(SUPPORTED):
        raise InputError(f"upload {name!r} has an unsupported type; use {', '.join(SUPPORTED)}")
    return name


def check_uploads(
    files: Sequence[tuple[str, bytes]], max_bytes: int
) -> list[tuple[str, bytes, ReadResult]]:
    """(name, bytes, what was read) of every file, or an InputError naming the first bad one."""
    if not files:
        raise InputError("no files in the upload")
    checked: list[tuple[str, bytes, ReadResult]] = []
    for name, data in files:
        clean = safe_name(name)
        if any(clean == c for c, _, _ in checked):
            raise InputError(f"the upload holds two files named {name!r}; send one")
        if len(data) > max_bytes:
            raise InputError(f"{name!r} is {len(data)} bytes; the limit is {max_bytes}")
        result = read_bytes(clean, data)
        if not result.articles:
            reason = result.problems[0].message if result.problems else "no text"
            raise InputError(f"{name!r} cannot be indexed: {reason}")
        checked.append((clean, data, result))
    return checked
