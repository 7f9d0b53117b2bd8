"""The eval set through the same path as the API: the figures must not regress."""

import json
import subprocess
import sys

import pytest

from briefqa.evaluation.evaluate import evaluate, evaluate_over_articles, evaluate_squad, exit_status, load_items

from ..conftest import CORPUS, EVAL_FILE, REPO, SQUAD_SAMPLE

pytestmark = pytest.mark.slow

# Measured floors, one question under the figures of docs/evaluation.md (measured with the
# shipped models on index format 4), so a change that makes answers worse by more than one
# question fails here. The contract's targets are hit@1 >= 0.90, hit@3 >= 0.96, abstain >= 0.90,
# false_abstain <= 0.05; where briefqa does not reach one, the floor guards what it does reach.
# "heldout" is the project's own 70 questions (eval/README.md); "squad" is the SQuAD 2.0 sample in
# eval/ (8 articles, 279 questions, scored by offsets): its near misses as they are, and with
# every third paragraph withheld ("squad-withheld"), both kinds of unanswerable question apart;
# "threads" is eval/followups_squad.jsonl, 73 follow-up threads over the sample's articles.
# Measured: dev 20/23 hit@1 (dev25's evidence is the quote its previous turn answered with, which
# "What else ...?" no longer shows first), 23/23 hit@3, mrr 0.928, 7/10 abstained, 4/23 refused;
# heldout 39/50, 47/50, mrr 0.860, 7/20, 9/50; threads 41/61, 58/61, 8/12, 15/61; squad 109/120,
# 116/120, mrr 0.938, 36/159 near misses, 8/120 refused; squad-withheld 75/83, 80/83, mrr 0.942,
# 28/105 near misses, 20/37 withheld, 4/83 refused.
FLOORS = {
    "dev": {"hit@1": 19 / 23, "hit@3": 22 / 23, "mrr": 0.905, "passage_hit@3": 22 / 23, "abstain": 0.6},
    "threads": {"hit@1": 40 / 61, "hit@3": 57 / 61, "abstain": 7 / 12},
    "heldout": {"hit@1": 38 / 50, "hit@3": 46 / 50, "mrr": 0.84, "passage_hit@3": 46 / 50, "abstain": 0.3},
    "squad": {"hit@1": 108 / 120, "hit@3": 115 / 120, "mrr": 0.93, "abstain_near_miss": 35 / 159},
    "squad-withheld": {
        "hit@1": 74 / 83,
        "hit@3": 79 / 83,
        "mrr": 0.93,
        "abstain_near_miss": 27 / 105,
        "abstain_withheld": 19 / 37,
    },
}
CEILINGS = {
    "dev": {"false_abstain": 5 / 23},
    "heldout": {"false_abstain": 13 / 50},
    "threads": {"false_abstain": 16 / 61},
    "squad": {"false_abstain": 9 / 120},
    "squad-withheld": {"false_abstain": 5 / 83},
}
FILES = {"dev": EVAL_FILE, "heldout": REPO / "eval" / "brief_qa_heldout.jsonl"}


@pytest.fixture(scope="module")
def reports(searcher, embedder):  # type: ignore[no-untyped-def]
    out = {name: evaluate(searcher, load_items(path), CORPUS) for name, path in FILES.items()}
    out["threads"] = evaluate_over_articles(REPO / "eval" / "followups_squad.jsonl", SQUAD_SAMPLE, embedder)
    out["squad"] = evaluate_squad(SQUAD_SAMPLE, embedder)
    out["squad-withheld"] = evaluate_squad(SQUAD_SAMPLE, embedder, withhold=3)
    return out


@pytest.fixture(scope="module")
def report(reports):  # type: ignore[no-untyped-def]
    return reports["dev"]


def test_every_quote_is_verbatim(reports) -> None:  # type: ignore[no-untyped-def]
    for report in reports.values():
        assert report["metrics"]["fidelity"] == 1.0
        assert report["counts"]["results"] > 0


@pytest.mark.parametrize(("questions", "name"), [(q, n) for q, floors in FLOORS.items() for n in sorted(floors)])
def test_metric_floor(reports, questions: str, name: str) -> None:  # type: ignore[no-untyped-def]
    # The report rounds to four decimals; a floor of k/n is met by exactly k questions.
    assert reports[questions]["metrics"][name] >= round(FLOORS[questions][name], 4) - 1e-9, reports[questions][
        "metrics"
    ]


@pytest.mark.parametrize(("questions", "name"), [(q, n) for q, cs in CEILINGS.items() for n in sorted(cs)])
def test_metric_ceiling(reports, questions: str, name: str) -> None:  # type: ignore[no-untyped-def]
    assert reports[questions]["metrics"][name] <= round(CEILINGS[questions][name], 4) + 1e-9, reports[questions][
        "metrics"
    ]


def test_eval_cli_prints_the_same_figures(brief_index, report, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        [sys.executable, "-m", "briefqa.cli", "eval", str(EVAL_FILE), "--json", "--index", str(brief_index)],
        capture_output=True,
        text=True,
    )
    assert json.loads(out.stdout)["metrics"] == report["metrics"]
    # It exits 1 exactly when a target it states is missed, so CI can run it as a check.
    assert out.returncode == exit_status(report), out.stderr


def test_eval_file_errors_name_the_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok?"}\nnot json\n')
    from briefqa.errors import InputError

    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        load_items(bad)


def test_squad_eval_reports_the_tradeoff(reports) -> None:  # type: ignore[no-untyped-def]
    points = reports["squad"]["tradeoff"]["near_miss"]
    assert len(points) == 3
    assert all(abs(p["false_abstain"] - level) <= 0.02 for p, level in zip(points, (0.05, 0.10, 0.20), strict=True))
    # Refusing more answerable questions can only buy more abstention, never less.
    assert points[0]["abstain"] <= points[1]["abstain"] <= points[2]["abstain"]
    assert reports["squad"]["counts"]["articles"] == 8


def test_readme_curl_example_answers_with_the_two_thirds_sentence(searcher) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search("How many satellites does the US operate")
    assert answer.answered
    assert "more than two-thirds of the world’s active satellites" in answer.results[0].quote


def test_and_japan_follow_up_quotes_what_the_brief_says_of_japan(searcher) -> None:  # type: ignore[no-untyped-def]
    first = "What share of the world's active satellites does the United States operate?"
    answer = searcher.search("And Japan?", [first])
    assert answer.query == "What share of the world's active satellites does Japan operate?"
    # Among the first three, in the ranker's order: the rule that put quotes naming the follow-up's
    # words first was measured on threads over SQuAD articles and removed (docs/evaluation.md);
    # tests/answers/test_followups.py asks the ranking of "And X?" of a corpus written there.
    quotes = [r.quote for r in answer.results[:3]]
    assert "Japan accounts for a small fraction of this total." in quotes


def test_a_standalone_why_question_is_searched_as_it_is(searcher) -> None:  # type: ignore[no-untyped-def]
    earlier = "What share of the world's active satellites does the United States operate?"
    answer = searcher.search("Why does Japan host U.S. payloads?", [earlier])
    assert answer.query == "Why does Japan host U.S. payloads?"
    assert "hosting U.S. payloads" in answer.results[0].quote


@pytest.mark.parametrize(
    "question",
    [
        "What is the GDP of Japan?",
        "What is SpaceX's role in the alliance?",
        "How much does the Glide Phase Interceptor cost?",
    ],
)
def test_readme_abstention_examples_are_declined(searcher, question: str) -> None:  # type: ignore[no-untyped-def]
    assert not searcher.search(question).answered
