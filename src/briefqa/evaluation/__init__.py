"""Evaluation: how well answers match labelled questions.

Owns reading SQuAD v2.0 files and writing their articles as a corpus (``squad``), and scoring the
searcher on the brief's JSON-lines sets or on SQuAD by offsets, with the abstention trade-off
(``evaluate``). Takes a searcher from ``answers`` (and builds a temporary index with ``index``);
hands on metric records that the CLI prints.

Never imports the web layer; the product's answers never depend on it.
"""
