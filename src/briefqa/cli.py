"""The ``briefqa`` command: parse arguments, call one library object, print."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import BriefqaError, CorpusError
from .settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Answers questions with sentences quoted verbatim from policy briefs.")

CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="sources folder (BRIEFQA_CORPUS)")]
IndexOpt = Annotated[Path | None, typer.Option("--index", help="index folder (BRIEFQA_INDEX)")]


def _settings(corpus: Path | None = None, index: Path | None = None) -> Settings:
    overrides: dict[str, Any] = {}
    if corpus is not None:
        overrides["corpus"] = corpus
    if index is not None:
        overrides["index"] = index
    return Settings(**overrides)


def _log_to_stderr(level: int) -> None:
    """Log lines of ``level`` and up on stderr, whatever level a library sets on its own logger."""
    handler = logging.StreamHandler()
    # On the handler, not only the root logger: bm25s sets its logger to DEBUG when imported.
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("briefqa: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def _report_error(exc: BaseException) -> None:
    """The one way an error reaches the terminal: one line on stderr."""
    typer.echo(f"briefqa: error: {exc}", err=True)


def _fail(exc: BriefqaError) -> typer.Exit:
    """The one mapping of errors to the terminal: the error's line, and its exit code."""
    _report_error(exc)
    return typer.Exit(exc.exit_code)


class _Progress:
    """A tqdm bar per stage on a terminal; plain log lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bars: dict[str, Any] = {}
        self.logged: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty:
            from tqdm import tqdm

            bar = self.bars.get(stage)
            if bar is None:
                bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="item", leave=False)
            bar.update(done - bar.n)
            if done >= total:
                bar.close()
            return
        step = max(total // 10, 1)
        if done == total or done - self.logged.get(stage, 0) >= step:
            self.logged[stage] = done
            typer.echo(f"{stage}: {done}/{total}", err=True)


def _print_report(report: Any) -> None:
    for note in report.notes:
        typer.echo(note)
    typer.echo(f"added: {', '.join(report.added) or '-'}")
    typer.echo(f"updated: {', '.join(report.updated) or '-'}")
    typer.echo(f"removed: {', '.join(report.removed) or '-'}")
    typer.echo(f"unchanged: {report.unchanged}")
    for err in report.errors:
        typer.echo(f"failed: {err['path']}: {err['error']}")
    typer.echo(f"index {report.version}: {report.documents} documents, {report.chunks} chunks "
               f"in {report.seconds:.1f}s")


@app.command()
def index(corpus: CorpusOpt = None, index: IndexOpt = None,
          full: Annotated[bool, typer.Option("--full", help="re-embed every source")] = False,
          watch: Annotated[bool, typer.Option("--watch", help="rebuild whenever the corpus changes")] = False) -> None:
    """Index the corpus (only new or changed sources unless --full); exit 1 if any source failed."""
    from .build import build_index
    from .embed import load_embedder

    settings = _settings(corpus, index)
    _log_to_stderr(logging.WARNING)
    try:
        embedder = load_embedder(settings.model)
    except BriefqaError as exc:
        raise _fail(exc) from None
    report = None
    try:
        report = build_index(settings.corpus, settings.index, embedder, full=full, progress=_Progress())
        _print_report(report)
    except BriefqaError as exc:
        if not watch:
            raise _fail(exc) from None
        # Watching an empty or broken corpus is how one waits for the first source to arrive.
        _report_error(exc)
    if watch:
        _watch(settings, embedder)
        return
    if report is not None and report.errors:
        raise typer.Exit(1)


def _watch(settings: Settings, embedder: Any) -> None:
    from .watch import watch_and_rebuild

    try:
        watch_and_rebuild(settings.corpus, settings.index, embedder, on_report=_print_report,
                          on_error=_report_error,
                          on_ready=lambda: typer.echo(f"watching {settings.corpus} (Ctrl-C to stop)"),
                          progress=_Progress)
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends; an interrupted build left the live version as it was.
        typer.echo("stopped watching")


@app.command()
def ask(question: Annotated[str, typer.Argument(help="the question")],
        k: Annotated[int, typer.Option("--k", help="how many quotes (1-20)")] = 5,
        as_json: Annotated[bool, typer.Option("--json", help="print a SearchResponse")] = False,
        index: IndexOpt = None) -> None:
    """Answer one question with quotes and their source links."""
    from .embed import load_embedder
    from .searcher import Searcher
    from .store import load

    settings = _settings(index=index)
    try:
        embedder = load_embedder(settings.model)
        answer = Searcher(load(settings.index, embedder.name, embedder.dimension), embedder).search(question, (), k)
    except BriefqaError as exc:
        raise _fail(exc) from None
    if as_json:
        from .api.schemas import SearchResponse

        typer.echo(SearchResponse.of(answer).model_dump_json(indent=2))
        return
    if not answer.answered:
        typer.echo("The sources do not answer this. Closest passages, not an answer:")
    for r in answer.results:
        typer.echo(f"\n{r.rank}. “{r.quote}”\n   — {r.source.title}  {r.url}")


@app.command()
def serve(host: Annotated[str | None, typer.Option("--host")] = None,
          port: Annotated[int | None, typer.Option("--port")] = None) -> None:
    """Serve the API and pages; builds the index first if it is missing or stale."""
    import uvicorn

    from .api.app import create_app
    from .build import is_stale
    from .embed import load_serving_embedder
    from .live import LiveIndex

    settings = _settings()
    _log_to_stderr(logging.INFO)
    try:
        embedder = load_serving_embedder(settings.model)
        live = LiveIndex(settings.corpus, settings.index, embedder)
        if is_stale(settings.corpus, settings.index, embedder.name):
            typer.echo("index missing or stale: building it first")
            try:
                _print_report(live.rebuild(progress=_Progress()))
            except CorpusError as exc:
                # An index that exists still answers; the analyst can fix the corpus and rebuild.
                live.refresh()
                if not live.ready:
                    raise
                typer.echo(f"briefqa: warning: {exc}; serving the index as it is", err=True)
    except BriefqaError as exc:
        raise _fail(exc) from None
    uvicorn.run(create_app(settings, live), host=host or settings.host, port=port or settings.port,
                log_level="info")


@app.command("eval")
def eval_cmd(file: Annotated[Path, typer.Argument(help="eval questions: JSON lines, or a SQuAD v2.0 JSON file")],
             as_json: Annotated[bool, typer.Option("--json")] = False,
             index: IndexOpt = None) -> None:
    """The eval metrics (hit@1, hit@3, mrr, abstain, false_abstain, fidelity) and the abstention trade-off.

    A SQuAD v2.0 file is scored by offsets over a temporary index of its articles.
    """
    from .embed import load_embedder
    from .evaluate import evaluate, evaluate_squad, load_items, meets_targets
    from .searcher import Searcher
    from .squad import is_squad
    from .store import load

    settings = _settings(index=index)
    try:
        if is_squad(file):
            report = evaluate_squad(file, load_embedder(settings.model))
        else:
            items = load_items(file)
            embedder = load_embedder(settings.model)
            report = evaluate(Searcher(load(settings.index, embedder.name, embedder.dimension), embedder), items)
    except BriefqaError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    met = meets_targets(report["metrics"])
    for name, value in report["metrics"].items():
        target = report["targets"].get(name)
        mark = "" if target is None else (" ok" if met[name] else " MISSED")
        bound = "" if target is None else f"  (target {'<=' if name == 'false_abstain' else '>='} {target})"
        typer.echo(f"{name:15s}{value:.3f}{bound}{mark}")
    typer.echo(f"counts: {report['counts']}")
    typer.echo("trade-off (threshold set to refuse this share of the answerable questions):")
    for point in report["tradeoff"]:
        typer.echo(f"  false_abstain {point['false_abstain']:.3f}  abstain {point['abstain']:.3f}")
    for item in report.get("items", []):
        if (item["first_hit_rank"] != 1 and item["type"] != "unanswerable") or (
            item["type"] == "unanswerable" and item["answered"]
        ) or (item["type"] != "unanswerable" and not item["answered"]):
            typer.echo(f"  {item['id']}: answered={item['answered']} first_hit={item['first_hit_rank']}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
