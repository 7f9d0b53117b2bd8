"""The ``briefqa`` commands: each parses its arguments, calls one library object, and prints."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ..errors import BriefqaError, InputError
from ..settings import Settings
from .arguments import (
    check_folder,
    check_index,
    corpus_named,
    fail,
    index_named,
    open_named_store,
    report_error,
    settings_of,
)
from .reports import print_answer, print_build, print_eval
from .terminal import Progress, log_to_stderr

# Plain help (not rich's boxes): rich shows every flag as "<bool>" and hides defaults. Help text
# is therefore plain too: no ``markup``, which would be shown as typed.
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


class PlainUsage(TyperCommand):
    """A usage line in the conventional form, ``ask [OPTIONS] QUESTION``: typer writes a required
    argument as ``{QUESTION}``, which reads as a placeholder left unfilled."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


@app.callback()
def _setup() -> None:
    log_to_stderr(logging.WARNING)


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
        settings = settings_of(corpus=corpus, index=index)
        check_folder(settings.corpus, corpus_named(corpus), write=False)
        check_folder(settings.index, index_named(index), write=True)
        store = open_named_store(settings)
        from ..embed import LazyEmbedder
        from ..index.build.pipeline import build_index

        # Loaded only when a source needs embedding: a build with nothing to do never waits for it.
        embedder = LazyEmbedder(settings.model, settings.onnx_cache)
    except BriefqaError as exc:
        raise fail(exc) from None
    report = None
    try:
        report = build_index(settings.corpus, store, embedder, full=full, progress=Progress())
        print_build(report, waited=time.monotonic() - started, model_loaded=embedder.is_loaded)
    except BriefqaError as exc:
        if not watch:
            raise fail(exc) from None
        # Watching an empty or broken corpus is how one waits for the first source to arrive.
        report_error(exc)
    if watch:
        _watch(settings, store, embedder)
        return
    if report is not None and report.failed:
        raise typer.Exit(1)


def _watch(settings: Settings, store: Any, embedder: Any) -> None:
    from ..index.build.watch import watch_and_rebuild

    try:
        watch_and_rebuild(
            settings.corpus,
            store,
            embedder,
            on_report=print_build,
            on_error=report_error,
            on_ready=lambda: typer.echo(f"watching {settings.corpus} (Ctrl-C to stop)"),
            progress=Progress,
        )
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends; an interrupted build left the live version as it was.
        typer.echo("stopped watching")


@app.command(cls=PlainUsage)
def ask(
    question: Annotated[str, typer.Argument(help="the question", metavar="QUESTION", show_default=False)],
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
        settings = settings_of(index=index)
        store = check_index(settings, index_named(index))
        from ..answers.questions import validate
        from ..answers.searcher import open_searcher
        from ..embed import load_embedder

        validate(question, (), k)  # a bad question or --k costs no model load
        from ..answers.notices import warm_identifier

        warm_identifier()  # read beside the encoder and the index, not after them
        answer = open_searcher(store, load_embedder(settings.model, settings.onnx_cache)).search(question, (), k)
    except BriefqaError as exc:
        raise fail(exc) from None
    if as_json:
        from ..api.schemas import SearchResponse

        typer.echo(SearchResponse.of(answer).model_dump_json(indent=2))
        return
    from .serving import base_url as served_at
    from .serving import serving_address

    print_answer(answer, (base_url or serving_address(settings.index) or served_at(settings)).rstrip("/"))


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
    from . import serving

    started = time.monotonic()
    try:
        settings = settings_of(host=host, port=port, corpus=corpus, index=index, workers=workers)
        serving.check_workers(settings, "--workers" if workers is not None else "BRIEFQA_WORKERS")
        check_folder(settings.corpus, corpus_named(corpus), write=False)
        check_folder(settings.index, index_named(index), write=True)
        store = open_named_store(settings)
        sock = serving.bind(settings.host, settings.port)
        serving.run(settings, store, sock, started)
    except BriefqaError as exc:
        raise fail(exc) from None


@app.command("eval", cls=PlainUsage)
def eval_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="eval questions: JSON lines, or a SQuAD v2.0 JSON file", metavar="FILE", show_default=False
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    withhold: Annotated[
        int,
        typer.Option(
            "--withhold",
            min=0,
            help="SQuAD only: leave every N-th paragraph out of the index and ask its questions as unanswerable",
        ),
    ] = 0,
    articles: Annotated[
        Path | None,
        typer.Option(
            "--articles",
            help="JSON lines only: ask them over a temporary index of this SQuAD file's articles",
            metavar="SQUAD",
            show_default=False,
        ),
    ] = None,
    index: IndexOpt = None,
    corpus: CorpusOpt = None,
) -> None:
    """The eval metrics (hit@1, hit@3, mrr, abstain, false_abstain, fidelity) and the abstention trade-off.

    A SQuAD file is scored by offsets over a temporary index of its articles (--index and
    --corpus are not used for it); abstention is reported for each kind of unanswerable
    question (near misses, and withheld paragraphs with --withhold). For JSON lines, quotes
    are checked against the files of --corpus, the folder the index was built from, or, with
    --articles, asked over a temporary index of a SQuAD file's articles (eval/followups_squad.jsonl
    over eval/squad2-sample.json).
    """
    try:
        settings = settings_of(index=index, corpus=corpus)
        from ..answers.searcher import open_searcher
        from ..embed import load_embedder
        from ..evaluation.evaluate import evaluate, evaluate_over_articles, evaluate_squad, exit_status, load_items
        from ..evaluation.squad import is_squad

        if is_squad(file) and articles is not None:
            raise InputError(f"{file}: --articles applies to JSON lines only")
        if articles is not None:
            if withhold:
                raise InputError(f"{file}: --withhold applies to SQuAD files only")
            if not is_squad(articles):
                raise InputError(f"{articles}: --articles needs a SQuAD v2.0 JSON file")
            report = evaluate_over_articles(file, articles, load_embedder(settings.model, settings.onnx_cache))
        elif is_squad(file):
            report = evaluate_squad(file, load_embedder(settings.model, settings.onnx_cache), withhold=withhold)
        else:
            if withhold:
                raise InputError(f"{file}: --withhold applies to SQuAD files only")
            store = check_index(settings, index_named(index))
            check_folder(settings.corpus, corpus_named(corpus), write=False)
            items = load_items(file)  # a bad file costs no model load
            report = evaluate(
                open_searcher(store, load_embedder(settings.model, settings.onnx_cache)), items, settings.corpus
            )
    except BriefqaError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_eval(report)
    # A missed target fails the command, so CI can run an evaluation as a check.
    raise typer.Exit(exit_status(report))
