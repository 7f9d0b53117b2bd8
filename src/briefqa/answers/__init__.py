"""Answers: a question in, quotes out.

Owns retrieval (``retrieve``: dense and BM25 candidates fused), the learned ranker over candidate
sentences (``quotes``), the answer kinds a question asks for (``answer_types``), the abstainer
(``abstain``), follow-ups resolved against the thread (``conversation``), the searcher that puts
them together (``searcher``; ``briefqa.open_searcher`` is its entry point), the live searcher
that follows the index's published versions (``live``) and the revision that names a source's
text in a citation, with the texts a server has served (``revisions``). Takes an ``IndexVersion`` from ``index``;
hands on an ``Answer`` of ``Quote`` records, each ``quote == text[start:end]``.

Never imports the evaluation or the web layer, and never writes to the index (the texts it keeps
lie beside it, in the index folder's ``.state/``).
"""
