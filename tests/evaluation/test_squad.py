"""SQuAD v2.0 files: recognised by content, read with clear errors, written as a corpus whose stored
text the answers' offsets are moved into, and scored by those offsets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from briefqa.errors import InputError
from briefqa.evaluation.evaluate import TRADEOFF_LEVELS, evaluate_squad, open_squad, score_squad, tradeoff
from briefqa.evaluation.squad import SquadQuestion, file_name, is_squad, questions_of, read_squad, write_corpus
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build.pipeline import build_index
from briefqa.index.loaded_version import IndexVersion
from briefqa.records import Answer, Quote, SourceInfo

from ..conftest import FakeEmbedder

NORMANS_1 = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
    "a region in France. They were descended from Norse raiders and pirates from Denmark."
)
NORMANS_2 = (
    "The Norman dynasty had a major political, cultural and military impact on medieval Europe. "
    "Rollo swore fealty to King Charles III of West Francia in 911."
)
WARSAW = (
    "Warsaw is the capital and largest city of Poland. It stands on the Vistula River in east-central "
    "Poland, roughly 260 kilometres from the Baltic Sea, and its population is about 1.7 million. "
    "Its café culture is known as “kawiarnia”."
)


def _qa(qid: str, question: str, context: str, answers: list[str], *, nth: int = 0) -> dict:
    spans = []
    for text in answers:
        at = -1
        for _ in range(nth + 1):
            at = context.index(text, at + 1)
        spans.append({"text": text, "answer_start": at})
    return {"id": qid, "question": question, "answers": spans, "is_impossible": False}


def _impossible(qid: str, question: str) -> dict:
    return {
        "id": qid,
        "question": question,
        "answers": [],
        "plausible_answers": [{"text": "x", "answer_start": 0}],
        "is_impossible": True,
    }


SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Normans",
            "paragraphs": [
                {
                    "context": NORMANS_1,
                    "qas": [
                        _qa("n1", "In what country is Normandy located?", NORMANS_1, ["France", "France"]),
                        _qa("n2", "From which countries did the Norse originate?", NORMANS_1, ["Denmark"]),
                        _impossible("n3", "Who gave their name to Normandy in the 1000's and 1100's"),
                    ],
                },
                {
                    "context": NORMANS_2,
                    "qas": [
                        _qa("n4", "Who did Rollo swear fealty to?", NORMANS_2, ["King Charles III", "Charles III"]),
                        _impossible("n5", "What dynasty had no impact on Europe?"),
                    ],
                },
            ],
        },
        {
            "title": "Warsaw_(city)",
            "paragraphs": [
                {
                    "context": WARSAW,
                    "qas": [
                        _qa("w1", "What is the population of Warsaw?", WARSAW, ["about 1.7 million"]),
                        _qa("w2", "What is Warsaw's café culture called?", WARSAW, ["“kawiarnia”"]),
                        _impossible("w3", "What is the capital of the Baltic Sea?"),
                    ],
                },
            ],
        },
    ],
}


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    return path


def test_squad_is_recognised_by_its_content(squad_file: Path, tmp_path: Path) -> None:
    assert is_squad(squad_file)
    renamed = tmp_path / "questions.jsonl"
    renamed.write_bytes(squad_file.read_bytes())
    assert is_squad(renamed), "by content, not by name"
    jsonl = tmp_path / "brief.jsonl"
    jsonl.write_text('{"id": "q1", "question": "What?", "evidence": []}\n{"id": "q2", "question": "Why?"}\n')
    assert not is_squad(jsonl)
    one_object = tmp_path / "one.json"
    one_object.write_text('{"question": "What?", "evidence": []}')
    assert not is_squad(one_object)
    listed = tmp_path / "list.json"
    listed.write_text('[{"data": []}]')
    assert not is_squad(listed)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{\x00")
    assert not is_squad(binary)
    assert not is_squad(tmp_path / "absent.json")


def test_read_squad_keeps_articles_paragraphs_and_spans(squad_file: Path) -> None:
    articles = read_squad(squad_file)
    assert [a.title for a in articles] == ["Normans", "Warsaw_(city)"]
    assert articles[0].paragraphs == (NORMANS_1, NORMANS_2)
    first, *_ = articles[0].questions[0]
    assert (first.id, first.impossible) == ("n1", False) and first.question.startswith("In what country")
    assert [NORMANS_1[a:b] for a, b in first.spans] == ["France", "France"]
    impossible = articles[0].questions[0][2]
    assert (impossible.spans, impossible.impossible) == ((), True), "an impossible question has no spans"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "JSONDecodeError"),
        ('{"version": "v2.0"}', "KeyError"),
        ('{"data": [{"title": "T", "paragraphs": [{"context": "abc"}]}]}', "KeyError"),
        (
            '{"data": [{"title": "T", "paragraphs": [{"context": "abc", "qas": [{"id": "q", "question": "?", '
            '"answers": [{"text": "zz", "answer_start": 1}]}]}]}]}',
            "answer 'zz' is not at offset 1",
        ),
        ('{"data": []}', "no articles"),
    ],
)
def test_a_bad_file_is_an_input_error_naming_it(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_squad(path)
    message = str(err.value)
    assert str(path) in message and reason in message and "\n" not in message


def test_an_unreadable_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"absent\.json"):
        read_squad(tmp_path / "absent.json")
    latin = tmp_path / "latin1.json"
    latin.write_bytes(b'{"data": "caf\xe9"}')
    with pytest.raises(InputError, match=r"latin1\.json"):
        read_squad(latin)


@pytest.fixture
def indexed(squad_file: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The tiny file written as a corpus and indexed (the fake embedder: offsets are the point)."""
    articles = read_squad(squad_file)
    corpus = tmp_path / "squad-corpus"
    write_corpus(articles, corpus)
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "squad-index", emb)
    return articles, corpus, LocalStore(tmp_path / "squad-index").load(emb.name, emb.dimension)


def test_one_source_per_article_with_its_title(indexed) -> None:  # type: ignore[no-untyped-def]
    _articles, corpus, data = indexed
    assert sorted(p.name for p in corpus.iterdir()) == [file_name(0, "Normans"), file_name(1, "Warsaw_(city)")]
    assert file_name(1, "Warsaw_(city)") == "001-warsaw-city.txt"
    titles = {d.path: d.title for d in data.documents}
    assert titles == {"000-normans.txt": "Normans", "001-warsaw-city.txt": "Warsaw (city)"}


def test_answer_offsets_point_at_the_answers_in_the_stored_text(indexed) -> None:  # type: ignore[no-untyped-def]
    articles, _corpus, data = indexed
    questions = questions_of(articles, data.documents)
    by_id = {q.id: q for q in questions}
    assert [q.id for q in questions] == ["n1", "n2", "n3", "n4", "n5", "w1", "w2", "w3"]
    expected = {
        "n1": ["France", "France"],
        "n2": ["Denmark"],
        "n4": ["King Charles III", "Charles III"],
        "w1": ["about 1.7 million"],
        "w2": ["“kawiarnia”"],
    }
    for qid, texts in expected.items():
        q = by_id[qid]
        doc = data.document(q.source_id)
        assert doc is not None and q.answerable
        assert [doc.text[a:b] for a, b in q.answers] == texts, qid
    # The second paragraph's answers moved past the first paragraph.
    normans = data.document(by_id["n4"].source_id)
    assert normans is not None and by_id["n4"].answers[0][0] > normans.text.index(NORMANS_2) - 1 > len(NORMANS_1)
    assert by_id["w2"].article == "Warsaw_(city)" and by_id["w2"].source_id != by_id["n4"].source_id
    for qid in ("n3", "n5", "w3"):
        assert not by_id[qid].answerable and by_id[qid].answers == ()


def test_questions_of_an_article_that_was_not_indexed_is_an_error(indexed) -> None:  # type: ignore[no-untyped-def]
    articles, _corpus, data = indexed
    with pytest.raises(InputError, match="Warsaw_\\(city\\)"):
        questions_of(articles, [d for d in data.documents if d.path != "001-warsaw-city.txt"])


def test_a_quote_answers_when_its_span_covers_an_answer() -> None:
    q = SquadQuestion("q", "Who?", "Normans", "normans", answers=((100, 116), (105, 116)), kind="answerable")
    assert q.answered_by("normans", 90, 120)
    assert q.answered_by("normans", 105, 116), "exactly the shorter answer"
    assert q.answered_by("normans", 100, 116)
    assert not q.answered_by("normans", 101, 115), "inside the answer does not cover it"
    assert not q.answered_by("normans", 106, 200), "it starts after both answers"
    assert not q.answered_by("warsaw", 0, 1000), "another source"
    impossible = SquadQuestion("i", "Why?", "Normans", "normans", answers=(), kind="near_miss")
    assert not impossible.answerable and not impossible.answered_by("normans", 0, 10_000)


def test_tradeoff_reports_abstention_at_each_false_abstention_level() -> None:
    answerable = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    unanswerable = [0.05, 0.15, 0.25, 0.5]
    rows = tradeoff(answerable, unanswerable, levels=(0.1, 0.2))
    # Level 0.1: the threshold is the 10% quantile of the answerable confidences, 0.19.
    assert rows[0] == {"false_abstain": 0.1, "abstain": 0.5, "threshold": 0.19}
    # Level 0.2: 0.28 refuses 0.1 and 0.2, and abstains on 0.05, 0.15 and 0.25.
    assert rows[1] == {"false_abstain": 0.2, "abstain": 0.75, "threshold": 0.28}
    assert len(tradeoff(answerable, unanswerable)) == len(TRADEOFF_LEVELS)
    assert tradeoff([], unanswerable) == [] and tradeoff(answerable, []) == []


def _quote(data: IndexVersion, source_id: str, start: int, end: int, rank: int = 1) -> Quote:
    doc = data.document(source_id)
    assert doc is not None
    return Quote(
        rank=rank,
        score=1.0,
        quote=doc.text[start:end],
        passage=doc.text,
        start=start,
        end=end,
        source=SourceInfo(doc.id, doc.title, doc.origin),
    )


def test_score_squad_counts_hits_by_offsets_and_abstentions(squad_file: Path, tmp_path: Path) -> None:
    run = open_squad(squad_file, FakeEmbedder(), tmp_path / "run")
    data = run.searcher.index
    answers = []
    for q in run.questions:
        if q.id == "n1":  # hit at rank 1
            a, b = q.answers[0]
            answers.append(Answer(q.question, True, (_quote(data, q.source_id, a - 4, b + 1),), 0.9))
        elif q.id == "n2":  # hit at rank 2, behind a miss
            a, b = q.answers[0]
            answers.append(
                Answer(
                    q.question, True, (_quote(data, q.source_id, 0, 3), _quote(data, q.source_id, a, b, rank=2)), 0.8
                )
            )
        elif q.answerable:  # missed and abstained
            answers.append(Answer(q.question, False, (_quote(data, q.source_id, 0, 3),), 0.2))
        elif q.id == "n3":  # an unanswerable one answered anyway
            answers.append(Answer(q.question, True, (_quote(data, q.source_id, 0, 3),), 0.7))
        else:  # abstained, or nothing ranked at all
            answers.append(Answer(q.question, False, (), None))
    report = score_squad(run, answers)
    assert report["counts"] == {"answerable": 5, "near_miss": 3, "results": 7, "articles": 2}
    metrics = report["metrics"]
    assert (metrics["hit@1"], metrics["hit@3"], metrics["mrr"]) == (0.2, 0.4, round((1 + 0.5) / 5, 4))
    assert (metrics["false_abstain"], metrics["abstain"], metrics["fidelity"]) == (0.6, round(2 / 3, 4), 1.0)
    assert metrics["abstain_near_miss"] == metrics["abstain"], "one kind: its abstention is the whole"
    assert report["articles"] == {"Normans": round(1 / 3, 4), "Warsaw_(city)": 0.0}
    assert report["tradeoff"] == {"near_miss": tradeoff([0.9, 0.8, 0.2, 0.2, 0.2], [0.7, -1.0, -1.0])}


@pytest.mark.slow
def test_a_squad_file_is_evaluated_end_to_end_with_the_real_model(squad_file: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    report = evaluate_squad(squad_file, embedder, k=3)
    assert report["counts"]["answerable"] == 5 and report["counts"]["near_miss"] == 3
    assert report["metrics"]["fidelity"] == 1.0
    # Three short paragraphs: the sentence that holds the answer is found for most questions.
    assert report["metrics"]["hit@3"] >= 0.8
    assert set(report["articles"]) == {"Normans", "Warsaw_(city)"}
    assert np.isfinite([row["threshold"] for row in report["tradeoff"]["near_miss"]]).all()


def test_a_paragraph_with_carriage_returns_keeps_its_answer_offsets(tmp_path: Path) -> None:
    raw = {
        "version": "v2.0",
        "data": [
            {
                "title": "Rivers",
                "paragraphs": [
                    {
                        "context": "The Loire is long.\r\nIt rises in the Massif Central.",
                        "qas": [
                            {
                                "id": "r1",
                                "question": "Where does the Loire rise?",
                                "is_impossible": False,
                                "answers": [{"text": "Massif Central", "answer_start": 36}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "rivers.json"
    path.write_text(json.dumps(raw))
    articles = read_squad(path)
    write_corpus(articles, tmp_path / "c")
    emb = FakeEmbedder()
    build_index(tmp_path / "c", tmp_path / "i", emb)
    data = LocalStore(tmp_path / "i").load(emb.name, emb.dimension)
    (q,) = questions_of(articles, data.documents)
    doc = data.document(q.source_id)
    assert doc is not None
    assert [doc.text[a:b] for a, b in q.answers] == ["Massif Central"]


def test_withholding_leaves_every_nth_paragraph_out_and_asks_its_questions(squad_file: Path, tmp_path: Path) -> None:
    articles = read_squad(squad_file)
    write_corpus(articles, tmp_path / "c", withhold=2)
    stored = (tmp_path / "c" / file_name(0, "Normans")).read_text()
    assert NORMANS_1 in stored and "Rollo" not in stored, "the second paragraph of each article is withheld"
    emb = FakeEmbedder()
    build_index(tmp_path / "c", tmp_path / "i", emb)
    data = LocalStore(tmp_path / "i").load(emb.name, emb.dimension)
    kinds = {q.id: q.kind for q in questions_of(articles, data.documents, withhold=2)}
    # n4 asks what only the withheld paragraph says; n5, a near miss of that paragraph, is neither kind.
    assert kinds == {
        "n1": "answerable",
        "n2": "answerable",
        "n3": "near_miss",
        "n4": "withheld",
        "w1": "answerable",
        "w2": "answerable",
        "w3": "near_miss",
    }


def test_withheld_questions_are_tallied_apart_from_near_misses(squad_file: Path, tmp_path: Path) -> None:
    run = open_squad(squad_file, FakeEmbedder(), tmp_path / "run", withhold=2)
    answers = [
        Answer(q.question, False, (), None) if q.kind == "withheld" else Answer(q.question, True, (), 0.9)
        for q in run.questions
    ]
    report = score_squad(run, answers)
    assert report["counts"] == {"answerable": 4, "near_miss": 2, "withheld": 1, "results": 0, "articles": 2}
    metrics = report["metrics"]
    assert (metrics["abstain_withheld"], metrics["abstain_near_miss"]) == (1.0, 0.0)
    assert metrics["abstain"] == round(1 / 3, 4)
    assert set(report["tradeoff"]) == {"near_miss", "withheld", "all"}


def test_a_corpus_folder_holds_exactly_the_articles_of_the_last_write(squad_file: Path, tmp_path: Path) -> None:
    articles = read_squad(squad_file)
    write_corpus(articles, tmp_path / "c")
    write_corpus(articles[1:], tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [file_name(0, "Warsaw_(city)")]


def test_a_gzipped_squad_file_is_read_as_it_is(squad_file: Path, tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "train.json.gz"
    packed.write_bytes(gzip.compress(squad_file.read_bytes()))
    assert is_squad(packed)
    assert read_squad(packed) == read_squad(squad_file)


def test_a_repeated_answer_text_marks_its_question_ambiguous(tmp_path: Path) -> None:
    raw = {"data": [{"title": "T", "paragraphs": [{"context": "Bees make honey. Wasps make none.", "qas": []}]}]}
    qa = {"id": "t1", "question": "What do bees do?", "answers": [{"text": "make", "answer_start": 5}]}
    raw["data"][0]["paragraphs"][0]["qas"] = [qa | {"answer_occurrences": 2}, qa | {"id": "t2"}]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(raw))
    (first, second), *_ = (a.questions[0] for a in read_squad(path))
    assert first.ambiguous and not second.ambiguous


def test_fidelity_is_checked_against_the_corpus_file_not_the_index(squad_file: Path, tmp_path: Path) -> None:
    """A quote that no longer matches its source file counts as unfaithful, whatever the index says."""
    run = open_squad(squad_file, FakeEmbedder(), tmp_path / "run")
    data = run.searcher.index
    q = next(q for q in run.questions if q.answerable)
    a, b = q.answers[0]
    answers = [Answer(x.question, True, (_quote(data, x.source_id, a, b),), 0.9) for x in run.questions[:1]]
    assert (
        score_squad(run, answers + [Answer(x.question, False, (), None) for x in run.questions[1:]])["metrics"][
            "fidelity"
        ]
        == 1.0
    )
    source = run.corpus / file_name(0, "Normans")
    source.write_text(source.read_text().replace("France", "Gaul"))
    changed = score_squad(run, answers + [Answer(x.question, False, (), None) for x in run.questions[1:]])
    assert changed["metrics"]["fidelity"] == 0.0
