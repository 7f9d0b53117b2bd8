"""Answers: a question in, quotes out.

Owns retrieval (``retrieve``: dense and BM25 candidates fused), the learned ranker over candidate
sentences (``quotes``), the answer kinds a question asks for (``answer_types``), the abstainer
(``abstain``), follow-ups resolved against the thread (``conversation``), the searcher that puts
them together (``searcher``; ``briefqa.open_searcher`` is its entry point) and the live searcher
that follows the index's published versions (``live``). Takes an ``IndexVersion`` from ``index``
and words and terms from ``briefqa.terms``; hands on an ``Answer`` of ``Quote`` records, each
``quote == text[start:end]``.

Never imports the evaluation or the web layer. It changes the index only by asking the index's
own build (``live``'s rebuild, behind the rebuild endpoint and the watcher), never its files.
"""
