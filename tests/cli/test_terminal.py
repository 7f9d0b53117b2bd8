"""What the CLI writes on stderr besides its results: progress lines and log lines."""

from __future__ import annotations

import time

import pytest

from briefqa.cli.terminal import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_lines_come_at_a_steady_interval_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    progress = Progress(interval=5.0, clock=clock, tty=False)
    for n in range(1, 101):  # a source every half second
        progress("sources", n, 100)
        clock.now += 0.5
    progress("embedding", 512, 1024)
    progress("embedding", 1024, 1024)
    err = capsys.readouterr().err.splitlines()
    sources = [line for line in err if line.startswith("sources")]
    assert sources[0] == "sources: 1/100" and sources[-1] == "sources: 100/100 (50s)"
    assert len(sources) == 1 + 50 // 5, "a line every five seconds, not every source nor every tenth"
    assert err[-2:] == ["embedding: 512/1024", "embedding: 1024/1024"]


def test_a_long_step_is_reported_while_it_runs(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    progress = Progress(interval=5.0, clock=clock, tty=False)
    progress("embedding", 0, 32)  # then one batch that takes long: no further calls
    for _ in range(4):
        clock.now += 6
        progress.tick()  # what the ticker thread does
    progress("embedding", 32, 32)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "embedding: 0/32",
        "embedding: 0/32 (6s)",
        "embedding: 0/32 (12s)",
        "embedding: 0/32 (18s)",
        "embedding: 0/32 (24s)",
        "embedding: 32/32 (24s)",
    ]


def test_the_ticker_reports_a_silent_stage_and_ends_with_its_hook(capsys: pytest.CaptureFixture[str]) -> None:
    import gc

    progress = Progress(interval=0.2, tty=False)
    progress("sources", 0, 1)
    time.sleep(0.7)
    ticker = progress.ticker
    assert ticker is not None
    assert len(capsys.readouterr().err.splitlines()) >= 3
    del progress
    gc.collect()
    ticker.join(timeout=2)
    assert not ticker.is_alive(), "the ticker ends once the build drops its progress hook"


def test_library_log_lines_carry_their_own_name_and_faiss_loader_is_quiet() -> None:
    import logging

    from briefqa.cli.terminal import Formatter, log_to_stderr

    log_to_stderr(logging.INFO)
    try:
        fmt = Formatter()
        pypdf = logging.LogRecord("pypdf._reader", logging.WARNING, "", 0, "invalid pdf header: %r", (b"x",), None)
        ours = logging.LogRecord("briefqa.build", logging.INFO, "", 0, "indexed %d", (3,), None)
        assert fmt.format(pypdf) == "pypdf._reader: WARNING: invalid pdf header: b'x'"
        assert fmt.format(ours) == "briefqa: indexed 3"
        assert not logging.getLogger("faiss.loader").isEnabledFor(logging.INFO)
    finally:
        log_to_stderr(logging.WARNING)
