"""briefqa: answers questions about policy briefs with sentences quoted verbatim from the sources."""

__version__ = "0.1.0"
