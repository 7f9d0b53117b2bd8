"""The web layer: the HTTP API, the chat page and the source pages (FastAPI).

Owns routes (``routes_*``), request and response schemas (``schemas``), dependency aliases
(``deps``), the page templates' wiring (``templating``, ``source_view``, ``turns``), the key that
signs the thread references the pages carry (``thread_signing``), each client's budget of searches
(``rate_limit``), the offline API docs (``docs``), the app factory that wires them (``app``), the
middlewares (``middleware``: body limit, HEAD, security headers), the one mapping of errors to the
JSON error shape (``http_errors``) and uvicorn's protocol for parser errors (``protocol``), the
refusal of bytes that are not UTF-8 or JSON nested too deep (``strict_input``), the chat page's
words for a question it cannot ask (``question_words``), the form a quote's source is cited in
(``citation``) and where a quote's answer span stands inside it for every view that emphasises it
(``answer_marks``, which the CLI's ``ask`` uses too). Takes ``Answer`` and ``Document`` records from
a live searcher; hands on JSON and HTML. The page's templates and static files live in ``web/`` at
the top of the repository (found by ``templating.web_folder``).

Never scores, ranks or reads index arrays: it imports ``answers.live``, ``answers.searcher`` and
``answers.questions`` (the request limits) and ``answers.revisions`` (what names a source's text)
only, never quotes, retrieve, abstain or the index's files.
"""
