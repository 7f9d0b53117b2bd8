"""Flags and ``BRIEFQA_*`` into one ``Settings``, the checks made before the model loads, and the
one mapping of errors to the terminal (``briefqa: error: ...``, naming the flag or setting)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from ..errors import BriefqaError, IndexMissingError, InputError
from ..settings import Settings

# Each setting as a user names it: the flag when one was given, else the environment variable.
_FLAGS = {"corpus": "--corpus", "index": "--index", "host": "--host", "port": "--port", "workers": "--workers"}


def settings_of(**flags: Any) -> Settings:
    """The settings from ``BRIEFQA_*`` and the given flags; a bad one is one ``InputError`` naming it."""
    overrides = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "settings"
            named = _FLAGS[field] if field in overrides and field in _FLAGS else f"BRIEFQA_{field.upper()}"
            problems.append(f"{named}={err.get('input')!r}: {err['msg']}")
        raise InputError("; ".join(problems)) from None


def index_named(index: Path | None) -> str:
    return "--index" if index is not None else "BRIEFQA_INDEX"


def corpus_named(corpus: Path | None) -> str:
    return "--corpus" if corpus is not None else "BRIEFQA_CORPUS"


def check_folder(path: Path, named: str, *, write: bool) -> None:
    """``path`` is a folder or can become one (and, with ``write``, can be written); else an ``InputError``.

    Checked before the model loads, so a mistyped path costs no wait.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"{named} {path} is a file, not a folder")
    if not write:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise InputError(f"{named} {path} cannot be written: {exc.strerror or exc}") from None


def open_named_store(settings: Settings) -> Any:
    """The store the settings name (``BRIEFQA_QDRANT``, else the index folder), reachable; checked
    before the model loads, so a mistyped URL or a server that is down costs no wait."""
    from ..index.backends.choose import open_store

    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return open_store(settings.index, settings.qdrant, key, settings.qdrant_prefix)


def check_index(settings: Settings, named: str) -> Any:
    """The store with a published index; else the error loading would give, before the model loads."""
    if not settings.qdrant:
        check_folder(settings.index, named, write=False)
    store = open_named_store(settings)
    if store.current_version() is None:
        where = f"{settings.index} ({named})" if not settings.qdrant else f"{store.describe()} (BRIEFQA_QDRANT)"
        raise IndexMissingError(f"no index in {where}; run `briefqa index` to build it")
    return store


def report_error(exc: BaseException) -> None:
    """The one way an error reaches the terminal: one line on stderr."""
    typer.echo(f"briefqa: error: {exc}", err=True)


def fail(exc: BriefqaError) -> typer.Exit:
    """The one mapping of errors to the terminal: the error's line, and its exit code."""
    report_error(exc)
    return typer.Exit(exc.exit_code)
