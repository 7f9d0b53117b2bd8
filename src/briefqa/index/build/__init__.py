"""Building the index: a corpus folder in, one published version out, and rebuilding on change.

Owns the wiring of a build (``pipeline``: what changed, what is reused, the manifest, publishing),
embedding new sources in batches that survive a kill (``embedding``, its batches kept by
``partial``) and watching the corpus (``watch``). Talks to where versions live only through
``backends.interface.IndexStore``; never imports a backend's own modules (``backends.local``,
``backends.qdrant``), nor the answers, evaluation or web layer.
"""
