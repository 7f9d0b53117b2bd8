"""An earlier turn of the no-script chat, carried by the form as a short reference to what it showed.

The page without JavaScript is a GET form: each request carries the whole thread. Searching every
earlier question again would cost one search per turn on every request, so each turn travels as
``a|source@start-end|...`` (``n`` when it was not answered) and is drawn from the index's text.
The reference holds offsets, never text: whatever a crafted URL says, a turn can only show whole
sentences of a source, verbatim. A reference that does not check out against the served index
(another version, a hand-edited URL) is ignored and that turn is searched again.
"""

from __future__ import annotations

import re

import numpy as np

from ..records import Answer, Quote, SourceInfo
from ..searcher import Searcher
from .schemas import SearchResponse

MAX_SHOWN = 2000  # characters of one reference; a page shows at most a few quotes per turn
_REF = re.compile(r"([^|@]{1,200})@([0-9]{1,12})-([0-9]{1,12})")


def encode(response: SearchResponse) -> str:
    """The reference a later request draws ``response`` again from."""
    refs = "".join(f"|{r.source.id}@{r.start}-{r.end}" for r in response.results)
    return ("a" if response.answered else "n") + refs


def decode(raw: str, question: str, searcher: Searcher) -> SearchResponse | None:
    """The turn ``raw`` refers to, drawn from the searcher's index; None when it does not check out."""
    if len(raw) > MAX_SHOWN or raw[:1] not in ("a", "n"):
        return None
    rest = raw[1:]
    if rest and not rest.startswith("|"):
        return None
    parts = rest.split("|")[1:]
    quotes = []
    for rank, part in enumerate(parts, 1):
        match = _REF.fullmatch(part)
        quote = _quote(searcher, match[1], int(match[2]), int(match[3]), rank) if match else None
        if quote is None:
            return None
        quotes.append(quote)
    return SearchResponse.of(Answer(query=question, answered=raw[0] == "a", results=tuple(quotes)))


def _quote(searcher: Searcher, source_id: str, start: int, end: int, rank: int) -> Quote | None:
    """The quote ``text[start:end]`` of a source, if it starts and ends on the bounds of its
    sentences within one chunk, with that chunk as its passage."""
    data = searcher.data
    di = data.doc_index.get(source_id)
    if di is None:
        return None
    in_doc = data.sent_doc == di
    first = np.flatnonzero(in_doc & ((data.sent_start == start) | (data.sent_quote_start == start)))
    last = np.flatnonzero(in_doc & (data.sent_end == end))
    if not len(first) or not len(last) or first[0] > last[0]:
        return None
    chunk = int(data.sent_chunk[last[0]])
    if int(data.sent_chunk[first[0]]) != chunk and int(data.sent_quote_start[last[0]]) != start:
        return None
    doc = data.documents[di]
    passage_start = min(int(data.chunk_start[chunk]), start)
    passage_end = max(int(data.chunk_end[chunk]), end)
    return Quote(
        rank=rank,
        score=0.0,  # not shown on the page, and not worth carrying
        quote=doc.text[start:end],
        passage=doc.text[passage_start:passage_end],
        start=start,
        end=end,
        source=SourceInfo(id=doc.id, title=doc.title, origin=doc.origin),
    )
