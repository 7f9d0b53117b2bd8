"""Sources: files in the corpus folder become documents, sentences and chunks with offsets.

Owns finding sources (``ingest``: discovery, ids, parsing Markdown, text, HTML and PDF into one
stored text), cutting that text into sentences and headings (``segment``, with ``long_sentences``
for lines too long for the model) and grouping sentences into chunks. Takes paths, hands on frozen
``Document``, ``Sentence`` and ``Chunk`` records whose offsets index ``Document.text``.

Never imports the index, the answers or the web layer: parsing knows nothing of vectors or FAISS.
"""
