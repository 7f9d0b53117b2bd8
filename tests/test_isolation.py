"""The suite never reads the developer's settings: every ``BRIEFQA_*`` variable is gone before a test runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# A sample of what a developer's shell may export, named after no list in the conftest.
EXPORTED = {
    "BRIEFQA_QDRANT": "http://127.0.0.1:9",
    "BRIEFQA_QDRANT_API_KEY": "real-key",
    "BRIEFQA_WORKERS": "4",
    "BRIEFQA_SOMETHING_ADDED_LATER": "1",
    "briefqa_corpus": "/real/corpus",
}


@pytest.fixture(scope="session")
def settings_at_session_start() -> dict[str, str]:
    """The ``BRIEFQA_*`` variables a session-scoped fixture sees (set up before per-test fixtures)."""
    return {k: v for k, v in os.environ.items() if k.upper().startswith("BRIEFQA_")}


def test_no_setting_reaches_a_session_fixture_or_a_test(settings_at_session_start: dict[str, str]) -> None:
    assert settings_at_session_start == {}
    now = {k for k in os.environ if k.upper().startswith("BRIEFQA_")}
    assert now == {"BRIEFQA_INDEX"}, "only the per-test index folder is set"
    assert not Path(os.environ["BRIEFQA_INDEX"]).resolve().is_relative_to(REPO)


def test_exported_settings_are_cleared_before_the_suite_runs() -> None:
    """The test above, run by a pytest whose environment holds a developer's settings."""
    env = {**os.environ, **EXPORTED, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{__file__}::{test_no_setting_reaches_a_session_fixture_or_a_test.__name__}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
