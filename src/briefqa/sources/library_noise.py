"""What the parsing libraries say while they read one file, caught and summarised in one line.

pypdf logs a warning per odd font or object it works around (about 1,000 characters for one
common PDF), trafilatura "discarding data: None" for a page without main text. Each is about
the file, not about briefqa, and says nothing the build can act on line by line; the build
reports one line per file instead, naming it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# The loggers of the libraries that read sources (trafilatura's helpers log under their own).
LIBRARIES = ("pypdf", "trafilatura", "htmldate", "courlan", "justext")
_lock = threading.RLock()  # the loggers are process-wide: one file is read at a time under them


@dataclass(slots=True)
class Caught:
    """The library messages of one file, in the order they came, and which libraries said them."""

    messages: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)

    def summary(self) -> str | None:
        """One short line ("3 warnings from pypdf while reading it, the first: ..."), or None."""
        if not self.messages:
            return None
        first = " ".join(self.messages[0].split())
        first = first if len(first) <= 80 else first[:77] + "..."
        count = len(self.messages)
        said = " and ".join(self.libraries)
        return f"{count} warning{'s' if count != 1 else ''} from {said} while reading it, the first: {first}"


class _Collect(logging.Handler):
    def __init__(self, caught: Caught) -> None:
        super().__init__(logging.WARNING)
        self.caught = caught

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's malformed log call is still a message about the file
            message = str(record.msg)
        self.caught.messages.append(message)
        library = record.name.split(".")[0]
        if library not in self.caught.libraries:
            self.caught.libraries.append(library)


@contextmanager
def caught_library_noise() -> Iterator[Caught]:
    """Within the block, the source libraries' logged warnings are kept in the ``Caught`` it
    yields instead of reaching the log; other loggers are untouched."""
    caught = Caught()
    handler = _Collect(caught)
    with _lock:
        loggers = [logging.getLogger(name) for name in LIBRARIES]
        before = [(lg.propagate, lg.level) for lg in loggers]
        for lg in loggers:
            lg.addHandler(handler)
            lg.propagate = False
            lg.setLevel(logging.WARNING)
        try:
            yield caught
        finally:
            for lg, (propagate, level) in zip(loggers, before, strict=True):
                lg.removeHandler(handler)
                lg.propagate = propagate
                lg.setLevel(level)
