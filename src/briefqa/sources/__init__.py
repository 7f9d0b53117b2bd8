"""Sources: files in the corpus folder become documents, sentences and chunks with offsets.

Owns finding sources (``ingest``: discovery, ids, links that lead out of the corpus, and the
dispatch to each format: ``plain_text`` for Markdown and text, ``html_pages``, ``pdf_text``; each
hands back a ``source_fields.ParsedSource`` whose ``authors`` and ``date`` take one shape, and
``library_noise`` sums up what their libraries warn about), cutting that text into sentences and
headings (``segment``, with ``long_sentences`` for lines too long for the model) and grouping
sentences into chunks. Takes paths, hands on frozen ``Document``, ``Sentence`` and ``Chunk``
records whose offsets index ``Document.text``.

Never imports the index, the answers or the web layer: parsing knows nothing of vectors or FAISS.
"""
