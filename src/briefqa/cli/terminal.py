"""What the CLI shows on stderr besides its results: progress per stage, and log lines."""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import typer


class Formatter(logging.Formatter):
    """briefqa's own lines as ``briefqa: ...``; a library's under its own logger name and level,
    so its warnings are not read as briefqa's errors."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "briefqa" or record.name.startswith("briefqa."):
            return f"briefqa: {record.getMessage()}"
        return f"{record.name}: {record.levelname}: {record.getMessage()}"


_handler: logging.Handler | None = None


def log_to_stderr(level: int) -> None:
    """Log lines of ``level`` and up on stderr, whatever level a library sets on its own logger."""
    global _handler
    if _handler is None:
        _handler = logging.StreamHandler()
        _handler.setFormatter(Formatter())
        logging.getLogger().addHandler(_handler)
        logging.captureWarnings(True)  # warnings.warn from libraries, under "py.warnings"
        # faiss logs which CPU build it loads (six lines about AVX512) at every start.
        logging.getLogger("faiss.loader").setLevel(logging.WARNING)
        # briefqa counts the word pieces of long sentences on purpose, to cut them to what the model
        # reads; the tokenizer's warning that such a text is too long for the model is not news.
        logging.getLogger("transformers.tokenization_utils_base").setLevel(logging.ERROR)
    # On the handler, not only the root logger: bm25s sets its logger to DEBUG when imported.
    _handler.setLevel(level)
    logging.getLogger().setLevel(level)


# Off a terminal, a stage in progress is reported this often (seconds), even while one step of
# it (a large file) takes long.
PROGRESS_INTERVAL = 5.0


class Progress:
    """A tqdm bar per stage on a terminal; off one, a log line as a stage starts, every
    ``interval`` seconds while it runs, and when it ends."""

    def __init__(
        self, interval: float = PROGRESS_INTERVAL, clock: Callable[[], float] = time.monotonic, tty: bool | None = None
    ) -> None:
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.interval = interval
        self.clock = clock
        self.bars: dict[str, Any] = {}
        self.state: dict[str, tuple[int, int, float]] = {}  # stage -> done, total, started
        self.last: dict[str, float] = {}
        self.lock = threading.Lock()
        self.ticker: threading.Thread | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty:
            from tqdm import tqdm

            bar = self.bars.get(stage)
            if bar is None:
                bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="item", leave=False)
            bar.update(done - bar.n)
            if done >= total:
                bar.close()
            return
        with self.lock:
            now = self.clock()
            started = self.state[stage][2] if stage in self.state else now
            self.state[stage] = (done, total, started)
            if stage not in self.last or done >= total or now - self.last[stage] >= self.interval:
                self._line(stage, now)
        if self.ticker is None and self.interval > 0:
            self.ticker = threading.Thread(target=_tick, args=(weakref.ref(self), self.interval), daemon=True)
            self.ticker.start()

    def _line(self, stage: str, now: float) -> None:
        done, total, started = self.state[stage]
        self.last[stage] = now
        elapsed = f" ({now - started:.0f}s)" if now - started >= 1 else ""
        typer.echo(f"{stage}: {done}/{total}{elapsed}", err=True)

    def tick(self) -> None:
        """Report each unfinished stage whose last line is ``interval`` old (a step that takes long)."""
        with self.lock:
            now = self.clock()
            for stage, (done, total, _) in self.state.items():
                if done < total and now - self.last[stage] >= self.interval:
                    self._line(stage, now)


def _tick(ref: weakref.ReferenceType[Progress], interval: float) -> None:
    # Holds only a weak reference: once the build drops its progress hook, the ticker ends.
    while True:
        time.sleep(interval / 2)
        progress = ref()
        if progress is None:
            return
        progress.tick()
        del progress
