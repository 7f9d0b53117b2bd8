"""The web layer: the HTTP API, the chat page and the source pages (FastAPI).

Owns routes (``routes_*``), request and response schemas (``schemas``), dependency aliases
(``deps``), the page templates' wiring (``templating``, ``source_view``, ``turns``), the key that
signs the thread references the pages carry (``thread_signing``), each client's budget of searches
(``rate_limit``), the offline API docs (``docs``), the JSON error shape for every failure
(``app``) and uvicorn's protocol for parser errors (``protocol``). Takes ``Answer`` and
``Document`` records from a live searcher; hands on JSON and HTML. Templates and static files
live in ``briefqa/web/``.

Never scores, ranks or reads index arrays: it imports ``answers.live``, ``answers.searcher`` and
``answers.revisions`` (what names a source's text) only, never quotes, retrieve, abstain or the
index's files.
"""
