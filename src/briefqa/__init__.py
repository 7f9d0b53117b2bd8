"""briefqa: answers questions about policy briefs with sentences quoted verbatim from the sources.

``briefqa.open_searcher(index_folder, embedder)`` is the library's entry point (``searcher``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "open_searcher"]

if TYPE_CHECKING:
    from .answers.searcher import open_searcher


def __getattr__(name: str) -> Any:
    # Imported on first use: ``import briefqa`` (the CLI's start) must not load numpy and faiss.
    if name == "open_searcher":
        from .answers.searcher import open_searcher

        return open_searcher
    raise AttributeError(f"module 'briefqa' has no attribute {name!r}")
