"""Answers: a question in, quotes out.

Owns what a question may be (``questions``: the contract's limits, normalisation, validation),
retrieval (``retrieve``: dense and BM25 candidates fused), the learned ranker over candidate
sentences (``quotes``), the answer kinds a question asks for (``answer_types``), the abstainer
(``abstain``), follow-ups resolved against the thread (``conversation``) and answered as the thread
asks (``followups``), the searcher that wires them together (``searcher``; ``briefqa.open_searcher``
is its entry point) and the live searcher that follows the index's published versions and asks the
index to rebuild (``live``), and the revision that names a source's text in a citation, with the
texts a server has served (``revisions``, kept beside the index in its folder's ``.state/``). Takes
an ``IndexVersion`` from ``index`` and words and terms from ``briefqa.terms``; hands on an
``Answer`` of ``Quote`` records, each ``quote == text[start:end]``.

Never imports the evaluation or the web layer; writes to the index only through ``index.build``
(``live``'s rebuild), never into a version's files.
"""
