"""The ``briefqa`` command, at the edge: it may import every stage, and no stage imports it.

Owns the typer commands (``commands``: parse the arguments, call one library object, print),
the flags read into one ``Settings`` and the checks made before the model loads (``arguments``),
the listening socket, the serving record and the ``--workers`` supervisor (``serving``), what a
build and an evaluation print (``reports``) and the progress and log lines on stderr
(``terminal``). Errors reach the terminal in one place (``arguments.fail``).

Never holds logic a stage owns (building, answering, scoring): it calls them.
"""

from __future__ import annotations

from .commands import app


def main() -> None:
    app()


__all__ = ["app", "main"]
