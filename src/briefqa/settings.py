"""The one settings object, read from ``BRIEFQA_*`` at the edge (CLI, app factory)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRIEFQA_", frozen=True)

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
    admin_token: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes, each with its own model, all answering from the same read-only index files.
    workers: int = Field(default=1, ge=1, le=64)
    # How often a server looks for a newer index version, in seconds.
    reload_interval: float = Field(default=1.0, gt=0)
