"""The local backend: versions as folders under ``BRIEFQA_INDEX``, served with faiss and bm25s.

Owns the folder (``folder``: ``CURRENT``, listing, sealing), a version's own files (``files``),
their checksums (``integrity``), the faiss and bm25s search of a loaded version (``vectors``) and
the store (``store``, ``IndexStore``'s local implementation). Never imports Qdrant's backend, the
build or the answers.
"""
