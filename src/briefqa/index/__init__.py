"""The index: the versioned folder on disk that answers are read from.

Owns building a version (``build``, with ``embed_batches`` for resumable embedding and ``caches``
for the batches of a large source), the per-source segments that versions share and builds reuse
(``segments``, in the file format of ``segment_file``, word pieces coded by ``piece_codec``), a
version's own files (``index_format``, ``token_store`` reading word pieces, ``lexical`` for BM25),
their checksums (``integrity``), the typed manifest (``manifest``), publishing and the lock
(``versions``), the read-only loaded version (``index_version``) and rebuilding on change
(``watch``). What a version searches with is ``vector_search`` (faiss and bm25s locally); the
same version in Qdrant is ``qdrant_version``, its store ``qdrant_store``. ``stores`` is the one
interface to either (``IndexStore``: write, publish, drop, load) that the build, the searcher and
the server use; ``store`` is the local store's functions.
Takes documents from ``sources`` and vectors from the embedder; hands on an ``IndexVersion``.

Never imports the answers, the evaluation or the web layer: the index does not rank or quote.
"""
