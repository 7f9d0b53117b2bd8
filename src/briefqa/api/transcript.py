"""A conversation as Markdown for a memo: every question, its quotes, each with its source and full link.

One function builds the text for the page's "Copy as Markdown" button, its no-script link and the
API alike, so all three give the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .answer_marks import marked
from .citation import credit
from .schemas import Result
from .turns import Turn

MEDIA_TYPE = "text/markdown; charset=utf-8"
FILENAME = "briefqa-conversation.md"

# Characters that Markdown would read as markup inside a line, and line openings that would turn a
# quoted sentence into a heading, a list item or a rule. Escaped so the rendered memo shows the
# source's words exactly.
_INLINE = re.compile(r"([\\`*_\[\]<>|&~])")
_OPENING = re.compile(r"^(\s*)([#+\-=])")
_NUMBERED = re.compile(r"^(\s*\d+)([.)])")


def escape(text: str) -> str:
    """``text`` as Markdown that renders as exactly that text."""
    lines = (_NUMBERED.sub(r"\1\\\2", _OPENING.sub(r"\1\\\2", _INLINE.sub(r"\\\1", line))) for line in text.split("\n"))
    return "\n".join(lines)


def markdown(turns: Sequence[Turn], base_url: str) -> str:
    """The thread as Markdown; links are absolute on ``base_url`` (the address the user reached)."""
    base = base_url.rstrip("/")
    out = ["# Conversation with briefqa", ""]
    for turn in turns:
        r = turn.response
        out += [f"## {escape(turn.question)}", ""]
        if r.answered and r.results:
            out += _quote(r.results[0], base, answered=True)
            if len(r.results) > 1:
                out += ["More from the sources:", ""]
                for x in r.results[1:]:
                    out += _quote(x, base, answered=True)
        else:
            out += [" ".join(["*The sources do not answer this.*", *([escape(r.notice)] if r.notice else [])]), ""]
            if r.results:
                out += ["Closest, not an answer:", ""]
                for x in r.results:
                    out += _quote(x, base, answered=False)
    return "\n".join(out).rstrip("\n") + "\n"


def _quote(result: Result, base: str, answered: bool) -> list[str]:
    """The quote as a block quote, its answer in bold when one is marked (a closest passage that
    does not answer has none to show), and the source it stands in."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in _emphasised(result, answered).split("\n"))
    source = result.source
    cited = credit(
        source.title, source.authors, source.date, text=escape, title_as=lambda t: f"[{t}]({base}{source.url})"
    )
    return [quoted, "", f"— {cited}", ""]


def _emphasised(result: Result, answered: bool) -> str:
    """The quote as Markdown, its answer (when marked) in ``**``, every other character escaped."""
    cut = marked(result.quote, result.start, result.answer) if answered else None
    if cut is None:
        return escape(result.quote)
    return escape(cut.before) + "\n".join(_strong(line) for line in cut.answer.split("\n")) + escape(cut.after)


def _strong(line: str) -> str:
    """One line of the answer in bold. Its white space stays outside the ``**``: CommonMark reads
    ``** words**`` as two asterisks and words. (A span's line break would end the emphasis, so
    each line gets its own.)"""
    words = line.strip()
    if not words:
        return line
    at = line.index(words)
    return f"{line[:at]}**{escape(words)}**{line[at + len(words) :]}"
