"""The shipped models were fitted on the signals the code computes now."""

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from briefqa.answers.abstain import FEATURES
from briefqa.answers.quotes import RANK_FEATURES
from briefqa.evaluation.evaluate import signal_means

from ..conftest import SQUAD_SAMPLE

pytestmark = pytest.mark.slow

# Rounding and BLAS order move a mean in its fourth decimal; a changed signal moves it far more.
TOLERANCE = 0.01


def test_signals_on_the_squad_sample_match_what_the_fit_recorded(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shipped = json.loads(resources.files("briefqa").joinpath("models/abstainer.json").read_text())
    recorded = shipped["fingerprint"]
    assert recorded["file"] == SQUAD_SAMPLE.name
    now = signal_means(SQUAD_SAMPLE, embedder, tmp_path)
    assert now["questions"] == recorded["questions"]
    for names, key in ((RANK_FEATURES, "rank_features"), (FEATURES, "signals")):
        gap = np.abs(np.array(now[key]) - np.array(recorded[key]))
        drifted = [
            f"{n}: {a} -> {b}" for n, a, b, g in zip(names, recorded[key], now[key], gap, strict=True) if g > TOLERANCE
        ]
        assert not drifted, f"signals changed since the models were fitted (run make fit): {drifted}"
