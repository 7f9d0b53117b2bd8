"""The peer: a Haystack 2.x hybrid pipeline over the same sources with the same model.

Indexing: each source split by passage (one paragraph a line in these sources, so the splitter
cuts at line breaks: Haystack's sentence splitter needs NLTK data fetched at run time), embedded
by ``SentenceTransformersDocumentEmbedder`` with the model's local path. Query: the question
embedded by ``SentenceTransformersTextEmbedder`` -> ``InMemoryEmbeddingRetriever`` and
``InMemoryBM25Retriever`` (top 10 each) -> ``DocumentJoiner`` in reciprocal-rank-fusion mode.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")


class HaystackPeer:
    def __init__(self, sources: Sequence[Path], model_path: str, top_k: int = 5) -> None:
        from haystack import Document, Pipeline
        from haystack.components.embedders import (
            SentenceTransformersDocumentEmbedder,
            SentenceTransformersTextEmbedder,
        )
        from haystack.components.joiners import DocumentJoiner
        from haystack.components.preprocessors import DocumentSplitter
        from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
        from haystack.components.writers import DocumentWriter
        from haystack.document_stores.in_memory import InMemoryDocumentStore

        store = InMemoryDocumentStore(embedding_similarity_function="cosine")
        indexing = Pipeline()
        indexing.add_component("splitter", DocumentSplitter(split_by="line", split_length=1, split_overlap=0))
        indexing.add_component(
            "embedder",
            SentenceTransformersDocumentEmbedder(
                model=model_path, local_files_only=True, progress_bar=False, normalize_embeddings=True
            ),
        )
        indexing.add_component("writer", DocumentWriter(document_store=store))
        indexing.connect("splitter", "embedder")
        indexing.connect("embedder", "writer")
        docs = [Document(content=p.read_text(encoding="utf-8"), meta={"path": str(p)}) for p in sources]
        indexing.run({"splitter": {"documents": docs}})
        self.passages = store.count_documents()

        query = Pipeline()
        query.add_component(
            "text_embedder",
            SentenceTransformersTextEmbedder(
                model=model_path, local_files_only=True, progress_bar=False, normalize_embeddings=True
            ),
        )
        query.add_component("embedding_retriever", InMemoryEmbeddingRetriever(document_store=store, top_k=10))
        query.add_component("bm25_retriever", InMemoryBM25Retriever(document_store=store, top_k=10))
        query.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=top_k))
        query.connect("text_embedder.embedding", "embedding_retriever.query_embedding")
        query.connect("embedding_retriever", "joiner")
        query.connect("bm25_retriever", "joiner")
        query.warm_up()
        self.pipeline = query

    def search(self, question: str) -> list[Any]:
        """The fused passages for ``question``, best first."""
        out = self.pipeline.run({"text_embedder": {"text": question}, "bm25_retriever": {"query": question}})
        return list(out["joiner"]["documents"])
