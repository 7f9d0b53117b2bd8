"""The one settings object, read from ``BRIEFQA_*`` at the edge (CLI, app factory)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRIEFQA_", frozen=True)

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
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
