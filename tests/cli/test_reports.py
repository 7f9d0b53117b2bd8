"""What `briefqa ask`, `index` and `eval` print: the answer in bold on a terminal, counts in the right
number, and the missed items."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from briefqa.cli.reports import EVAL_LEGEND, plural, print_answer, print_build, print_eval


def _build(documents: int, chunks: int) -> SimpleNamespace:
    return SimpleNamespace(
        notes=[], added=["a"], updated=[], removed=[], unchanged=0, errors=[], kept=[], seconds=0.5,
        version="v7", documents=documents, chunks=chunks,
    )  # fmt: skip


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert [plural(n, "source") for n in (0, 1, 2)] == ["0 sources", "1 source", "2 sources"]


def test_a_build_of_one_document_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    print_build(_build(1, 1))
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "index v7: 1 document, 1 chunk in 0.5s"
    print_build(_build(3, 12), waited=2.5)
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "index v7: 3 documents, 12 chunks in 2.5s (2.0s of it loading the model)"


def test_a_kept_source_is_named_with_its_reason_and_not_as_removed(capsys: pytest.CaptureFixture[str]) -> None:
    report = _build(3, 9)
    report.added = []
    report.kept = [{"id": "compact", "path": "papers/compact.pdf", "error": "not a readable PDF (Stream has ended)"}]
    print_build(report)
    lines = capsys.readouterr().out.splitlines()
    line = "kept: papers/compact.pdf (last good version, failed to parse: not a readable PDF (Stream has ended))"
    assert line in lines
    assert "removed: -" in lines and not any(line.startswith("failed:") for line in lines)


def test_eval_lists_the_missed_items_under_their_legend(capsys: pytest.CaptureFixture[str]) -> None:
    item = {"id": "q1", "type": "factoid", "answerable": True, "answered": True, "first_hit_rank": 2}
    right = {**item, "id": "q2", "first_hit_rank": 1}
    wrong_refusal = {**item, "id": "q3", "answerable": False, "answered": True, "first_hit_rank": None}
    report = {
        "metrics": {"hit@1": 0.5, "hit@3": 1.0, "mrr": 0.75, "abstain": 1.0, "false_abstain": 0.0, "fidelity": 1.0},
        "targets": {"hit@1": 0.9, "hit@3": 0.96, "abstain": 0.9, "false_abstain": 0.05, "fidelity": 1.0},
        "counts": {"answerable": 2, "unanswerable": 1},
        "tradeoff": {"near_miss": [{"false_abstain": 0.1, "abstain": 0.6}]},
        "items": [{**i, "question": f"question {i['id']}?"} for i in (item, right, wrong_refusal)],
    }
    print_eval(report)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("hit@1") and out[0].endswith("(target >= 0.9) MISSED")
    assert out[2].startswith("mrr") and "target" not in out[2]
    assert out[4].endswith("(target <= 0.05) ok")
    missed = out[out.index(EVAL_LEGEND) + 1 :]
    assert [line.split()[0] for line in missed] == ["q1", "q3"]
    assert missed[0].endswith("question q1?")


@pytest.mark.slow
def test_briefqa_index_keeps_a_truncated_pdf_says_so_and_exits_1_until_it_is_fixed(tmp_path: Path) -> None:
    from ..conftest import write_source
    from ..sources.test_ingest import make_pdf
    from ..test_cli import run_cli

    corpus, index = tmp_path / "corpus", str(tmp_path / "index")
    write_source(corpus, "fisheries.md", "fisheries")
    pdf = make_pdf([["The Delta Water Compact", "The compact shares the delta water between three provinces."]])
    (corpus / "papers").mkdir()
    (corpus / "papers" / "compact.pdf").write_bytes(pdf)
    assert run_cli("index", "--corpus", str(corpus), "--index", index)[0] == 0
    (corpus / "papers" / "compact.pdf").write_bytes(pdf[: len(pdf) // 2])
    code, out, err = run_cli("index", "--corpus", str(corpus), "--index", index)
    assert code == 1, out + err
    kept = re.search(r"^kept: papers/compact\.pdf \(last good version, failed to parse: (.+)\)$", out, re.M)
    assert kept and "not a readable PDF" in kept[1], out
    assert "removed: -" in out and "failed:" not in out and ": 2 documents," in out
    (corpus / "papers" / "compact.pdf").write_bytes(pdf)
    code, out, err = run_cli("index", "--corpus", str(corpus), "--index", index)
    assert code == 0 and "updated: papers-compact" in out and "kept:" not in out, out + err


def _answer(answered: bool, spans: bool = True) -> Any:
    from briefqa.records import Answer

    from ..api.test_answer_marks import FARES, FERRY, quote_of

    quotes = (quote_of(FERRY, "The ferry" if spans else None), quote_of(FARES, "*every* adult_passenger", rank=2))
    return Answer(query="q", answered=answered, results=quotes)


def test_on_a_terminal_ask_prints_the_answer_in_bold_inside_the_quote(capsys: pytest.CaptureFixture[str]) -> None:
    print_answer(_answer(True), "http://briefs.example", color=True)
    out = capsys.readouterr().out
    assert "1. “\x1b[1mThe ferry\x1b[0m to Brønnøysund leaves at 06:40 on weekdays.”" in out
    assert "for \x1b[1m*every* adult_passenger\x1b[0m in 2023.”" in out
    assert "   — Harbour notes  http://briefs.example/sources/harbour-notes?hl=" in out


def test_off_a_terminal_ask_prints_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    print_answer(_answer(True), "http://briefs.example")  # captured output is not a terminal
    plain = capsys.readouterr().out
    assert "\x1b" not in plain and "1. “The ferry to Brønnøysund leaves at 06:40 on weekdays.”" in plain
    print_answer(_answer(True, spans=False), "http://briefs.example", color=True)
    assert capsys.readouterr().out.count("\x1b[1m") == 1  # the second quote's; the first has none


def test_closest_passages_that_do_not_answer_have_nothing_in_bold(capsys: pytest.CaptureFixture[str]) -> None:
    print_answer(_answer(False), "http://briefs.example", color=True)
    out = capsys.readouterr().out
    assert out.startswith("The sources do not answer this.\nClosest passages, not an answer:")
    assert "\x1b" not in out
