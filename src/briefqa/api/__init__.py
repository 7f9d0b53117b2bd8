"""The web layer: the HTTP API, the chat page and the source pages (FastAPI).

Owns routes (``routes_*``), request and response schemas (``schemas``), dependency aliases
(``deps``), the page templates' wiring (``templating``, ``source_view``, ``turns``), the offline
API docs (``docs``), the JSON error shape for every failure (``app``), uvicorn's protocol for
parser errors (``protocol``), the refusal of bytes that are not UTF-8 or JSON nested too deep
(``strict_input``), the chat page's words for a question it cannot ask (``question_words``) and
the form a quote's source is cited in (``citation``). Takes ``Answer`` and ``Document`` records from a live searcher;
hands on JSON and HTML. Templates and static files live in ``briefqa/web/``.

Never scores, ranks or reads index arrays: it imports ``answers.live`` and ``answers.searcher``
only, never quotes, retrieve, abstain or the index's files.
"""
