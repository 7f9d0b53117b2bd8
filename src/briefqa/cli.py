"""The ``briefqa`` command: parse arguments, call one library object, print."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from .errors import BriefqaError, CorpusError, InputError
from .settings import Settings
from .terminal import Progress, log_to_stderr

# Plain help (not rich's boxes): rich shows every flag as "<bool>" and hides defaults.
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Answers questions with sentences quoted verbatim from policy briefs.",
)

CorpusOpt = Annotated[
    Path | None, typer.Option("--corpus", help="sources folder", show_default="BRIEFQA_CORPUS, else ./corpus")
]
IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="index folder", show_default="BRIEFQA_INDEX, else ./index")
]

# Each setting as a user names it: the flag when one was given, else the environment variable.
_FLAGS = {"corpus": "--corpus", "index": "--index", "host": "--host", "port": "--port", "workers": "--workers"}


def _settings(**flags: Any) -> Settings:
    """The settings from ``BRIEFQA_*`` and the given flags; a bad one is one ``InputError`` naming it."""
    overrides = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "settings"
            named = _FLAGS[field] if field in overrides and field in _FLAGS else f"BRIEFQA_{field.upper()}"
            problems.append(f"{named}={err.get('input')!r}: {err['msg']}")
        raise InputError("; ".join(problems)) from None


def _check_folder(path: Path, named: str, *, write: bool) -> None:
    """``path`` is a folder or can become one (and, with ``write``, can be written); else an ``InputError``.

    Checked before the model loads, so a mistyped path costs no wait.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"{named} {path} is a file, not a folder")
    if not write:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise InputError(f"{named} {path} cannot be written: {exc.strerror or exc}") from None


def _store(settings: Settings) -> Any:
    """The store the settings name (``BRIEFQA_QDRANT``, else the index folder), reachable; checked
    before the model loads, so a mistyped URL or a server that is down costs no wait."""
    from .index.stores import open_store

    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return open_store(settings.index, settings.qdrant, key)


def _check_index(settings: Settings, named: str) -> Any:
    """The store with a published index; else the error loading would give, before the model loads."""
    from .errors import IndexMissingError

    if not settings.qdrant:
        _check_folder(settings.index, named, write=False)
    store = _store(settings)
    if store.current_version() is None:
        where = f"{settings.index} ({named})" if not settings.qdrant else f"{store.describe()} (BRIEFQA_QDRANT)"
        raise IndexMissingError(f"no index in {where}; run `briefqa index` to build it")
    return store


def _index_named(index: Path | None) -> str:
    return "--index" if index is not None else "BRIEFQA_INDEX"


def _corpus_named(corpus: Path | None) -> str:
    return "--corpus" if corpus is not None else "BRIEFQA_CORPUS"


@app.callback()
def _setup() -> None:
    log_to_stderr(logging.WARNING)


def _report_error(exc: BaseException) -> None:
    """The one way an error reaches the terminal: one line on stderr."""
    typer.echo(f"briefqa: error: {exc}", err=True)


def _fail(exc: BriefqaError) -> typer.Exit:
    """The one mapping of errors to the terminal: the error's line, and its exit code."""
    _report_error(exc)
    return typer.Exit(exc.exit_code)


def _print_report(report: Any, waited: float | None = None, model_loaded: bool = True) -> None:
    """What a build did; ``waited`` is the time the user waited for it, the model's load included
    (``model_loaded`` False: the rest was starting up, e.g. opening an embedded Qdrant folder)."""
    for note in report.notes:
        typer.echo(note)
    typer.echo(f"added: {', '.join(report.added) or '-'}")
    typer.echo(f"updated: {', '.join(report.updated) or '-'}")
    typer.echo(f"removed: {', '.join(report.removed) or '-'}")
    typer.echo(f"unchanged: {report.unchanged}")
    for err in report.errors:
        typer.echo(f"failed: {err['path']}: {err['error']}")
    took = f"{report.seconds:.1f}s"
    if waited is not None and waited > report.seconds:
        what = "loading the model" if model_loaded else "starting up"
        took = f"{waited:.1f}s ({waited - report.seconds:.1f}s of it {what})"
    typer.echo(f"index {report.version}: {report.documents} documents, {report.chunks} chunks in {took}")


@app.command()
def index(
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    full: Annotated[bool, typer.Option("--full", help="re-embed every source")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="rebuild whenever the corpus changes")] = False,
) -> None:
    """Index the corpus (only new or changed sources unless --full); exit 1 if any source failed."""
    started = time.monotonic()
    try:
        settings = _settings(corpus=corpus, index=index)
        _check_folder(settings.corpus, _corpus_named(corpus), write=False)
        _check_folder(settings.index, _index_named(index), write=True)
        store = _store(settings)
        from .embed import LazyEmbedder
        from .index.build import build_index

        # Loaded only when a source needs embedding: a build with nothing to do never waits for it.
        embedder = LazyEmbedder(settings.model)
    except BriefqaError as exc:
        raise _fail(exc) from None
    report = None
    try:
        report = build_index(settings.corpus, store, embedder, full=full, progress=Progress())
        _print_report(report, waited=time.monotonic() - started, model_loaded=embedder.is_loaded)
    except BriefqaError as exc:
        if not watch:
            raise _fail(exc) from None
        # Watching an empty or broken corpus is how one waits for the first source to arrive.
        _report_error(exc)
    if watch:
        _watch(settings, store, embedder)
        return
    if report is not None and report.errors:
        raise typer.Exit(1)


def _watch(settings: Settings, store: Any, embedder: Any) -> None:
    from .index.watch import watch_and_rebuild

    try:
        watch_and_rebuild(
            settings.corpus,
            store,
            embedder,
            on_report=_print_report,
            on_error=_report_error,
            on_ready=lambda: typer.echo(f"watching {settings.corpus} (Ctrl-C to stop)"),
            progress=Progress,
        )
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends; an interrupted build left the live version as it was.
        typer.echo("stopped watching")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    k: Annotated[int, typer.Option("--k", help="how many quotes (1-20)")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print a SearchResponse")] = False,
    index: IndexOpt = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="where the links point: the server that shows the sources",
            show_default="the address of the server serving this index, else http://BRIEFQA_HOST:BRIEFQA_PORT",
        ),
    ] = None,
) -> None:
    """Answer one question with quotes and their source links."""
    try:
        settings = _settings(index=index)
        store = _check_index(settings, _index_named(index))
        from .answers.searcher import open_searcher, validate
        from .embed import load_embedder

        validate(question, (), k)  # a bad question or --k costs no model load
        answer = open_searcher(store, load_embedder(settings.model)).search(question, (), k)
    except BriefqaError as exc:
        raise _fail(exc) from None
    if as_json:
        from .api.schemas import SearchResponse

        typer.echo(SearchResponse.of(answer).model_dump_json(indent=2))
        return
    base = (base_url or _serving_address(settings.index) or _base_url(settings)).rstrip("/")
    if not answer.answered:
        typer.echo(" ".join(["The sources do not answer this.", *([answer.notice] if answer.notice else [])]))
        if answer.results:
            typer.echo("Closest passages, not an answer:")
    for r in answer.results:
        typer.echo(f"\n{r.rank}. “{r.quote}”\n   — {r.source.title}  {base}{r.url}")


def _base_url(settings: Settings, port: int | None = None) -> str:
    """Where this machine reaches a server listening on the settings' host and ``port`` (else theirs)."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # listening everywhere; this machine reaches it on loopback
        host = "127.0.0.1"
    port = port or settings.port
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# Beside the index while `briefqa serve` serves it: where it listens, so `briefqa ask` links there
# whatever port the server was given. Removed on a clean exit; a record left by a killed server
# names a process that no longer runs and is ignored.
SERVING_FILE = "serving.json"


def _record_address(index: Path, url: str) -> None:
    (index / SERVING_FILE).write_text(json.dumps({"url": url, "pid": os.getpid()}) + "\n", encoding="utf-8")


def _forget_address(index: Path) -> None:
    """Remove this process's record (another server's, written since, stays)."""
    path = index / SERVING_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def _serving_address(index: Path) -> str | None:
    """The address of the server serving ``index``, if one runs (on this machine)."""
    try:
        record = json.loads((index / SERVING_FILE).read_text(encoding="utf-8"))
        url, pid = record["url"], record["pid"]
        if not isinstance(url, str) or not isinstance(pid, int) or pid <= 0:
            return None
        os.kill(pid, 0)  # raises when no such process runs
    except PermissionError:  # it runs, as another user
        return str(url)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url


def _bind(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound before the model loads so a busy port fails at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise InputError(f"host {host!r} cannot be served on: {exc}") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno == errno.EADDRINUSE:
            why += " (another server is using it; choose one with --port)"
        raise InputError(f"cannot serve on {host}:{port}: {why}") from None
    sock.set_inheritable(True)
    return sock


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="address to listen on", show_default="BRIEFQA_HOST, else 127.0.0.1")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="port to listen on (1-65535)", show_default="BRIEFQA_PORT, else 8000")
    ] = None,
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="server processes answering from the same index files, each with its own model (1-64)",
            show_default="BRIEFQA_WORKERS, else 1",
        ),
    ] = None,
) -> None:
    """Serve the API and pages; builds the index first if it is missing or stale."""
    started = time.monotonic()
    try:
        settings = _settings(host=host, port=port, corpus=corpus, index=index, workers=workers)
        from .index.qdrant_store import names_server

        if settings.workers > 1 and settings.qdrant and not names_server(settings.qdrant):
            named = "--workers" if workers is not None else "BRIEFQA_WORKERS"
            raise InputError(
                f"{named}={settings.workers}: Qdrant's embedded mode (BRIEFQA_QDRANT={settings.qdrant}) is "
                "opened by one process at a time; serve it with one worker, or use a Qdrant server"
            )
        _check_folder(settings.corpus, _corpus_named(corpus), write=False)
        _check_folder(settings.index, _index_named(index), write=True)
        store = _store(settings)
        sock = _bind(settings.host, settings.port)
    except BriefqaError as exc:
        raise _fail(exc) from None
    import uvicorn

    from .answers.live import LiveIndex
    from .api.app import create_app
    from .api.protocol import JsonErrorsProtocol
    from .embed import LazyEmbedder, load_serving_embedder
    from .index.build import is_stale

    log_to_stderr(logging.INFO)
    try:
        # With several workers this process only builds, if it must, and supervises: each worker
        # loads its own model, so this one loads it only for a build.
        embedder = LazyEmbedder(settings.model) if settings.workers > 1 else load_serving_embedder(settings.model)
        live = LiveIndex(settings.corpus, store, embedder)
        if not settings.corpus.is_dir():
            # An index that exists still answers; the analyst can restore the corpus and rebuild.
            live.refresh()
            if not live.ready:
                raise CorpusError(
                    f"corpus folder {settings.corpus} does not exist, and there is no index "
                    f"in {store.describe()} to serve"
                )
            typer.echo(
                f"briefqa: warning: corpus folder {settings.corpus} does not exist; serving the index as it is",
                err=True,
            )
        elif is_stale(settings.corpus, store, embedder.name):
            typer.echo("index missing or stale: building it first")
            try:
                _print_report(live.rebuild(progress=Progress()), waited=time.monotonic() - started)
            except CorpusError as exc:
                live.refresh()
                if not live.ready:
                    raise
                typer.echo(f"briefqa: warning: {exc}; serving the index as it is", err=True)
    except BriefqaError as exc:
        sock.close()
        raise _fail(exc) from None
    url = _base_url(settings, port=sock.getsockname()[1])
    if settings.workers > 1:
        # The workers load their own model and index; this process only supervises them.
        del live, embedder  # a model a build loaded here is not needed any more
        _serve_workers(settings, sock, url)
        return
    config = uvicorn.Config(
        create_app(settings, live), host=settings.host, port=settings.port, log_level="info", http=JsonErrorsProtocol
    )

    def ready() -> None:
        if live.ready:
            searcher = live.searcher
            _announce(settings, url, searcher.version, len(searcher.sources()))
        else:
            _announce(settings, url, None, 0)

    try:
        _ready_server_class()(config, ready).run(sockets=[sock])
    finally:
        _forget_address(settings.index)


def _announce(settings: Settings, url: str, version: str | None, sources: int) -> None:
    if version is not None:
        what = f"index {version}, {sources} source{'' if sources == 1 else 's'}"
    else:
        what = "no usable index yet: searches answer 503 until a build succeeds"
    workers = f" with {settings.workers} workers" if settings.workers > 1 else ""
    typer.echo(f"briefqa: serving {url}/{workers} ({what})")
    _record_address(settings.index, url)


def _serve_workers(settings: Settings, sock: socket.socket, url: str) -> None:
    """uvicorn's supervisor, running ``settings.workers`` processes on the one listening socket.

    Each worker builds the app from ``BRIEFQA_*`` (set here from the resolved settings, flags
    included), loads its own model, and maps the same immutable index files; a publish by any
    builder is seen by every worker before its next request (``LiveIndex.refresh_if_published``).
    """
    import threading
    import urllib.error
    import urllib.request

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .api.protocol import JsonErrorsProtocol

    for name, value in (
        ("CORPUS", settings.corpus.resolve()),
        ("INDEX", settings.index.resolve()),
        ("MODEL", settings.model),
        ("HOST", settings.host),
        ("PORT", settings.port),
        ("WORKERS", settings.workers),
    ):
        os.environ[f"BRIEFQA_{name}"] = str(value)
    config = uvicorn.Config(
        "briefqa.api.app:create_app",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_level="info",
        http=JsonErrorsProtocol,
    )
    supervisor = Multiprocess(config, sockets=[sock])

    def announce_when_answering() -> None:
        # The supervisor says nothing when its workers are up: ask one, as a client would.
        while not supervisor.should_exit.is_set():
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as reply:
                    health = json.loads(reply.read())
                _announce(settings, url, health["index_version"], int(health["documents"]))
                return
            except urllib.error.HTTPError as exc:  # 503: up, with no index to serve yet
                exc.close()
                _announce(settings, url, None, 0)
                return
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)

    threading.Thread(target=announce_when_answering, daemon=True).start()
    try:
        supervisor.run()
    finally:
        _forget_address(settings.index)


def _ready_server_class() -> type:
    """uvicorn's server, telling ``on_ready`` once it accepts requests (imported only to serve)."""
    import uvicorn

    class ReadyServer(uvicorn.Server):
        def __init__(self, config: uvicorn.Config, on_ready: Any) -> None:
            super().__init__(config)
            self._on_ready = on_ready

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:
                self._on_ready()

    return ReadyServer


# What the eval lines say, printed above them.
EVAL_LEGEND = (
    "items not answered as they should be (answered: whether briefqa answered; "
    "first_hit: rank of the first quote holding the evidence, None if none of the top 5 does):"
)


@app.command("eval")
def eval_cmd(
    file: Annotated[Path, typer.Argument(help="eval questions: JSON lines, or a SQuAD v2.0 JSON file")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    withhold: Annotated[
        int,
        typer.Option(
            "--withhold",
            min=0,
            help="SQuAD only: leave every N-th paragraph out of the index and ask its questions as unanswerable",
        ),
    ] = 0,
    index: IndexOpt = None,
    corpus: CorpusOpt = None,
) -> None:
    """The eval metrics (hit@1, hit@3, mrr, abstain, false_abstain, fidelity) and the abstention trade-off.

    A SQuAD file is scored by offsets over a temporary index of its articles (``--index`` and
    ``--corpus`` are not used for it); abstention is reported for each kind of unanswerable
    question (near misses, and withheld paragraphs with ``--withhold``). For JSON lines, quotes
    are checked against the files of ``--corpus``, the folder the index was built from.
    """
    try:
        settings = _settings(index=index, corpus=corpus)
        from .answers.searcher import open_searcher
        from .embed import load_embedder
        from .evaluation.evaluate import evaluate, evaluate_squad, exit_status, load_items, meets_targets
        from .evaluation.squad import is_squad

        if is_squad(file):
            report = evaluate_squad(file, load_embedder(settings.model), withhold=withhold)
        else:
            if withhold:
                raise InputError(f"{file}: --withhold applies to SQuAD files only")
            store = _check_index(settings, _index_named(index))
            _check_folder(settings.corpus, _corpus_named(corpus), write=False)
            items = load_items(file)  # a bad file costs no model load
            report = evaluate(open_searcher(store, load_embedder(settings.model)), items, settings.corpus)
    except BriefqaError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        raise typer.Exit(exit_status(report))
    met = meets_targets(report["metrics"])
    for name, value in report["metrics"].items():
        target = report["targets"].get(name)
        mark = "" if target is None else (" ok" if met[name] else " MISSED")
        bound = "" if target is None else f"  (target {'<=' if name == 'false_abstain' else '>='} {target})"
        typer.echo(f"{name:19s}{value:.3f}{bound}{mark}")
    typer.echo(f"counts: {report['counts']}")
    typer.echo("trade-off (the threshold set to refuse this share of the answerable questions):")
    for kind, points in report["tradeoff"].items():
        for point in points:
            typer.echo(f"  {kind:13s} false_abstain {point['false_abstain']:.3f}  abstain {point['abstain']:.3f}")
    missed = [item for item in report.get("items", []) if _missed(item)]
    if missed:
        typer.echo(EVAL_LEGEND)
    for item in missed:
        typer.echo(
            f"  {item['id']} ({item['type']}): answered={item['answered']} "
            f"first_hit={item['first_hit_rank']}  {item['question']}"
        )
    raise typer.Exit(exit_status(report))


def _missed(item: dict[str, Any]) -> bool:
    """An answerable item not answered with the evidence first, or an unanswerable one answered."""
    if not item["answerable"]:
        return bool(item["answered"])
    return item["first_hit_rank"] != 1 or not item["answered"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
