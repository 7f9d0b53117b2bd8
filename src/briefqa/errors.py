"""One error family. The HTTP layer and the CLI each map it in one place."""

from __future__ import annotations


class BriefqaError(Exception):
    """Base of every error a user may see; ``str(err)`` is the user-facing message."""

    http_status = 500
    exit_code = 1


class InputError(BriefqaError):
    """A request or argument that breaks a documented limit."""

    http_status = 422
    exit_code = 2


class NotFoundError(BriefqaError):
    http_status = 404


class CorpusError(BriefqaError):
    """The corpus as a whole cannot be indexed (missing folder, no sources)."""

    http_status = 503


class SourceError(BriefqaError):
    """One source could not be parsed; the others are unaffected."""

    http_status = 422

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ModelError(BriefqaError):
    """The embedding model cannot be loaded."""

    http_status = 503


class IndexMissingError(BriefqaError):
    """No usable index yet."""

    http_status = 503


class IndexMismatchError(BriefqaError):
    """The index was built by another model or format version."""

    http_status = 503


class IndexDamagedError(BriefqaError):
    """An index version's files do not match their checksums or the manifest (truncated, altered, missing)."""

    http_status = 503


class BackendError(BriefqaError):
    """The store holding the index (a Qdrant server or folder) cannot be reached or failed a request."""

    http_status = 503


class IndexBusyError(BriefqaError):
    """Another build holds the index lock."""

    http_status = 409


class AuthError(BriefqaError):
    http_status = 401


class ForbiddenError(BriefqaError):
    http_status = 403
