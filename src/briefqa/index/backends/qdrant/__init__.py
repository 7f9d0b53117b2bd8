"""The Qdrant backend: versions as collections, the live one named by aliases swapped atomically.

Owns the one client and its guard (``client``), the collections' names and schema (``schema``),
writing a version from the segments (``write``), reading it (``read``), searching it (``search``)
and the store (``store``, ``IndexStore``'s Qdrant implementation). The only place that imports
``qdrant_client``. Never imports the local backend's modules, the build or the answers.
"""
