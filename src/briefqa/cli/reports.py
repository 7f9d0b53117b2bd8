"""What the CLI prints of an answer, of a build report and of an evaluation report."""

from __future__ import annotations

from typing import Any

import typer

from ..api.answer_marks import marked
from ..records import Answer, Quote


def plural(count: int, word: str) -> str:
    """``1 document``, ``2 documents``: a count with its noun in the right number."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def print_answer(answer: Answer, base: str, color: bool | None = None) -> None:
    """Each quote with its source's full link (``base`` is where the links point); not answered,
    the reason and the closest passages. ``color`` None: click decides, styling only a terminal."""
    if not answer.answered:
        typer.echo(" ".join(["The sources do not answer this.", *([answer.notice] if answer.notice else [])]))
        if answer.results:
            typer.echo("Closest passages, not an answer:")
    for r in answer.results:
        typer.echo(f"\n{r.rank}. “{quoted(r, answer.answered)}”\n   — {r.source.title}  {base}{r.url}", color=color)


def quoted(quote: Quote, answered: bool) -> str:
    """The quote with its answer in bold (ANSI), when one is marked in an answered quote; typer.echo
    drops the styling where stdout is not a terminal, so a pipe or a file gets the plain sentence."""
    cut = marked(quote.quote, quote.start, quote.answer) if answered else None
    if cut is None:
        return quote.quote
    return cut.before + typer.style(cut.answer, bold=True) + cut.after


def print_build(report: Any, waited: float | None = None, model_loaded: bool = True) -> None:
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
    for kept in report.kept:
        typer.echo(f"kept: {kept['path']} (last good version, failed to parse: {kept['error']})")
    took = f"{report.seconds:.1f}s"
    if waited is not None and waited > report.seconds:
        what = "loading the model" if model_loaded else "starting up"
        took = f"{waited:.1f}s ({waited - report.seconds:.1f}s of it {what})"
    typer.echo(
        f"index {report.version}: {plural(report.documents, 'document')}, {plural(report.chunks, 'chunk')} in {took}"
    )


# What the eval lines say, printed above them.
EVAL_LEGEND = (
    "items not answered as they should be (answered: whether briefqa answered; "
    "first_hit: rank of the first quote holding the evidence, None if none of the top 5 does):"
)


def print_eval(report: dict[str, Any]) -> None:
    """The metrics against their targets, the counts, the abstention trade-off and the missed items."""
    from ..evaluation.evaluate import meets_targets

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
    missed = [item for item in report.get("items", []) if missed_item(item)]
    if missed:
        typer.echo(EVAL_LEGEND)
    for item in missed:
        typer.echo(
            f"  {item['id']} ({item['type']}): answered={item['answered']} "
            f"first_hit={item['first_hit_rank']}  {item['question']}"
        )


def missed_item(item: dict[str, Any]) -> bool:
    """An answerable item not answered with the evidence first, or an unanswerable one answered."""
    if not item["answerable"]:
        return bool(item["answered"])
    return item["first_hit_rank"] != 1 or not item["answered"]
