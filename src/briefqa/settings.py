"""The one settings object, read from ``BRIEFQA_*`` at the edge (CLI, app factory)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"

_RATE = re.compile(r"\s*([0-9]{1,9})\s*/\s*(second|minute|hour)\s*(\+\s*loopback)?\s*", re.I)
_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


@dataclass(frozen=True, slots=True)
class RateBudget:
    """A client's budget of search requests: ``requests`` at once, refilled over ``seconds``."""

    requests: int
    seconds: float
    loopback: bool  # whether clients on this machine are held to it too


def rate_budget(raw: str) -> RateBudget | None:
    """``BRIEFQA_RATE_LIMIT`` read: ``N/second|minute|hour``, ``+loopback`` to hold local clients
    to it too, or ``off``. ``ValueError`` says what is wrong."""
    if raw.strip().lower() == "off":
        return None
    match = _RATE.fullmatch(raw)
    if match is None or int(match[1]) < 1:
        raise ValueError(f"{raw!r} is not a rate: write N/second, N/minute or N/hour (e.g. 60/minute), or off")
    return RateBudget(int(match[1]), _UNIT_SECONDS[match[2].lower()], match[3] is not None)


def default_onnx_cache() -> Path:
    """Where the ONNX files made from model folders are kept unless ``BRIEFQA_ONNX_CACHE`` says."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "briefqa" / "onnx"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRIEFQA_", frozen=True)

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
    # The ONNX file made from the model's weights on first use, run by ONNX Runtime (no torch).
    onnx_cache: Path = Field(default_factory=default_onnx_cache)
    admin_token: SecretStr | None = None
    # Signs the thread references the pages carry (api.thread_signing); unset, one is made and
    # kept in the index folder's .state/.
    secret: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes, each with its own model, all answering from the same read-only index files.
    workers: int = Field(default=1, ge=1, le=64)
    # How often a server looks for a newer index version, in seconds.
    reload_interval: float = Field(default=1.0, gt=0)
    # Where the index lives: unset, files under ``index``; a folder, Qdrant's embedded local mode
    # there; an http(s) URL, a Qdrant server or cluster (``qdrant_api_key`` when it needs one).
    qdrant: str | None = None
    qdrant_api_key: SecretStr | None = None
    # Each client's budget of search requests (docs/configuration.md gives the syntax).
    rate_limit: str = "60/minute"

    @property
    def rate_budget(self) -> RateBudget | None:
        return rate_budget(self.rate_limit)

    @field_validator("rate_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        rate_budget(value)
        return value

    @field_validator("qdrant")
    @classmethod
    def _folder_or_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        scheme, sep, rest = value.partition("://")
        if sep and scheme.lower() not in ("http", "https"):
            raise ValueError(f"{value!r} is neither a folder nor an http(s) URL of a Qdrant server")
        if sep and not rest.split("/", 1)[0].split("?", 1)[0]:
            raise ValueError(f"{value!r} names no host")
        return value
