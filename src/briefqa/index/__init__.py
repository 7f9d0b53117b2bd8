"""The index: versions of the corpus that answers are read from, built, stored and loaded.

Directly here, the records every part shares: the typed manifest and the one compatibility check
(``manifest``), the loaded read-only version a searcher reads (``loaded_version``), what a version
searches with and how rankings fuse (``vector_search``) and BM25 (``lexical``). Then, by job:
``segments/`` (the per-source segment files that versions share and builds reuse, their word
pieces and codecs), ``backends/`` (the ``IndexStore`` interface, the local folder and Qdrant) and
``build/`` (corpus -> published version, resumable embedding, rebuilding on change).
Takes documents from ``sources`` and vectors from the embedder; hands on an ``IndexVersion``.

Never imports the answers, the evaluation or the web layer: the index does not rank or quote.
"""
