"""A tiny error hierarchy; the API maps each class to one HTTP status."""


class QAError(Exception):
    """Base class: every message names the bad value and what to do about it."""

    status_code = 500


class InputError(QAError):
    """The caller sent something we cannot use (a bad date, an unknown backend...)."""

    status_code = 400


class NotFoundError(QAError):
    """A document or resource that does not exist."""

    status_code = 404


class CorpusError(QAError):
    """A corpus file or folder cannot be read."""

    status_code = 400


class IndexStateError(QAError):
    """The index is missing, built with another model, or otherwise unusable."""

    status_code = 409


class BusyError(QAError):
    """Another ingest holds the index lock."""

    status_code = 409


class BackendError(QAError):
    """An answer backend failed (LLM unreachable, timeout, token cap)."""

    status_code = 502


class FeedError(QAError):
    """A feed or a page it links to cannot be fetched or read (HTTP error, timeout, too big)."""

    status_code = 502


class FetchRefused(FeedError):
    """An outbound fetch aimed at a loopback, private, link-local or metadata address (SSRF)."""

    status_code = 400
