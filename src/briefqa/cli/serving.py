"""``briefqa serve`` past its arguments: the listening socket, the index built first when it is
missing or stale, uvicorn with one worker or its supervisor with several, and the record beside
the index of where the server listens (so ``briefqa ask`` links there)."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

import typer

from ..errors import CorpusError, InputError
from ..settings import Settings
from .reports import plural, print_build
from .terminal import Progress, log_to_stderr


def base_url(settings: Settings, port: int | None = None) -> str:
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


def serving_address(index: Path) -> str | None:
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


def bind(host: str, port: int) -> socket.socket:
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


def check_workers(settings: Settings, named: str) -> None:
    """Several workers need a store several processes may open; else an ``InputError`` naming why."""
    from ..index.backends.qdrant.client import names_server

    if settings.workers > 1 and settings.qdrant and not names_server(settings.qdrant):
        raise InputError(
            f"{named}={settings.workers}: Qdrant's embedded mode (BRIEFQA_QDRANT={settings.qdrant}) is "
            "opened by one process at a time; serve it with one worker, or use a Qdrant server"
        )


def prepare(settings: Settings, store: Any, started: float) -> Any:
    """The live index to serve, built first if it is missing or stale (with one worker, the model
    loaded); raises the error that leaves nothing to serve."""
    from ..answers.live import LiveIndex
    from ..embed import LazyEmbedder, load_serving_embedder
    from ..index.build.pipeline import is_stale

    # With several workers this process only builds, if it must, and supervises: each worker
    # loads its own model, so this one loads it only for a build.
    embedder = (
        LazyEmbedder(settings.model, settings.onnx_cache)
        if settings.workers > 1
        else load_serving_embedder(settings.model, settings.onnx_cache)
    )
    live = LiveIndex(settings.corpus, store, embedder)
    if not settings.corpus.is_dir():
        # An index that exists still answers; the analyst can restore the corpus and rebuild.
        live.refresh()
        if not live.ready:
            raise CorpusError(
                f"corpus folder {settings.corpus} does not exist, and there is no index in {store.describe()} to serve"
            )
        typer.echo(
            f"briefqa: warning: corpus folder {settings.corpus} does not exist; serving the index as it is",
            err=True,
        )
    elif is_stale(settings.corpus, store, embedder.name):
        typer.echo("index missing or stale: building it first")
        try:
            print_build(live.rebuild(progress=Progress()), waited=time.monotonic() - started)
        except CorpusError as exc:
            live.refresh()
            if not live.ready:
                raise
            typer.echo(f"briefqa: warning: {exc}; serving the index as it is", err=True)
    return live


def run(settings: Settings, store: Any, sock: socket.socket, started: float) -> None:
    """Serve on ``sock`` until stopped: one worker here, or the supervisor of several."""
    log_to_stderr(logging.INFO)
    try:
        live = prepare(settings, store, started)
    except BaseException:
        sock.close()
        raise
    url = base_url(settings, port=sock.getsockname()[1])
    if settings.workers > 1:
        # The workers load their own model and index; this process only supervises them.
        del live  # a model a build loaded here is not needed any more
        _serve_workers(settings, sock, url)
        return
    import uvicorn

    from ..api.app import create_app
    from ..api.protocol import JsonErrorsProtocol

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
        what = f"index {version}, {plural(sources, 'source')}"
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

    from ..api.protocol import JsonErrorsProtocol

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
