"""Latency summaries and the contention scenario (a second process busy on one core)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np


@dataclass(frozen=True)
class Dist:
    """Median and 95th percentile of a latency sample, in milliseconds."""

    p50: float
    p95: float
    n: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Dist:
        ms = np.asarray(seconds, dtype=np.float64) * 1000.0
        if not len(ms):
            return cls(float("nan"), float("nan"), 0)
        return cls(float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), len(ms))

    def __str__(self) -> str:
        return f"{self.p50:.1f} / {self.p95:.1f}"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def paired(
    questions: Sequence[str], floor: Callable[[str], object], measured: Callable[[str], object]
) -> tuple[list[float], list[float]]:
    """Time ``floor(q)`` and ``measured(q)`` back to back for every question, so both see the same
    moment of a noisy machine; the order alternates to cancel any warm-cache advantage."""
    f_times: list[float] = []
    m_times: list[float] = []
    for i, q in enumerate(questions):
        if i % 2:
            m_times.append(timed(partial(measured, q)))
            f_times.append(timed(partial(floor, q)))
        else:
            f_times.append(timed(partial(floor, q)))
            m_times.append(timed(partial(measured, q)))
    return f_times, m_times


@contextlib.contextmanager
def contention(enabled: bool = True) -> Iterator[None]:
    """While inside, a second process spins on one core (a pure-Python loop holds exactly one)."""
    if not enabled:
        yield
        return
    busy = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
    try:
        time.sleep(0.3)
        yield
    finally:
        busy.kill()
        busy.wait()
