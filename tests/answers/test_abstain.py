"""The abstainer: alignment signals of the best quote, and the shipped logistic model over them.

Hand-made evidence (encyclopedia-style questions, not the brief's): the signals are arithmetic
over it, and the model is read from the package.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from briefqa.answers.abstain import FEATURES, Abstainer, Evidence, features, shipped_abstainer
from briefqa.answers.answer_types import KINDS
from briefqa.answers.quotes import RANK_FEATURES, Query, Scored
from briefqa.index.lexical import LexicalIndex
from briefqa.terms import terms

CORPUS = [
    "The Normans were descended from Norse raiders who settled in Normandy.",
    "Rollo swore fealty to King Charles the Simple of West Francia.",
    "In 1066 William of Normandy crossed the Channel and defeated Harold at Hastings.",
]


@pytest.fixture(scope="module")
def lexical() -> LexicalIndex:
    return LexicalIndex.from_terms([terms(t) for t in CORPUS])


def _scored(score: float, matches: list[float], passage_matches: list[float] | None = None, **named: float) -> Scored:
    row = np.zeros(len(RANK_FEATURES))
    for name, value in named.items():
        row[RANK_FEATURES.index(name)] = value
    passage = np.array(passage_matches if passage_matches is not None else matches)
    return Scored(
        doc=0,
        sentence=0,
        start=0,
        end=10,
        chunk=0,
        score=score,
        features=row,
        matches=np.array(matches),
        passage_matches=passage,
    )


def _evidence(question: str, passage: str, weights: list[float], scored: list[Scored], agree: bool = True) -> Evidence:
    n = len(weights)
    query = Query(
        text=question,
        question=question,
        vector=np.zeros(4),
        tokens=np.zeros((n, 4)),
        weights=np.array(weights),
        uniform=np.ones(n),
        terms=tuple(terms(question)),
    )
    return Evidence(query=query, scored=scored, passage_text=passage, agree=agree, max_idf=4.0)


def _signal(x: np.ndarray, name: str) -> float:
    return float(x[FEATURES.index(name)])


def test_signals_are_read_from_the_alignment(lexical: LexicalIndex) -> None:
    top = _scored(2.0, [0.95, 0.5, 0.8], sentence_sim=0.6, passage_sim=0.5, term_cover=0.7, type_held=1.0)
    ev = _evidence(
        "When did William of Normandy cross the Channel?",
        CORPUS[2],
        [1.0, 1.0, 2.0],
        [top, _scored(0.5, [0.1, 0.1, 0.1])],
    )
    x = features(ev, lexical)
    assert x.shape == (len(FEATURES),)
    assert _signal(x, "score") == 2.0 and _signal(x, "margin") == 1.5
    assert (_signal(x, "sentence_sim"), _signal(x, "passage_sim"), _signal(x, "term_cover")) == (0.6, 0.5, 0.7)
    # Matched share at each level, weighted by each word piece's rarity: 0.95, 0.5 and 0.8 of 1, 1, 2.
    assert _signal(x, "matched_60") == pytest.approx(0.75)
    assert _signal(x, "matched_75") == pytest.approx(0.75)
    assert _signal(x, "matched_90") == pytest.approx(0.25)
    # The least-matched rare piece: weight 1 of max idf 4, matched 0.5; weight 2, matched 0.8.
    assert _signal(x, "gap_quote") == pytest.approx(max(0.25 * 0.5, 0.5 * 0.2, 0.25 * 0.05))
    assert _signal(x, "asks_date") == 1.0
    assert sum(_signal(x, f"asks_{k}") for k in KINDS) == 1.0
    assert _signal(x, "type_held") == 1.0 and _signal(x, "type_in_passage") == 1.0
    assert _signal(x, "agree") == 1.0
    assert _signal(x, "names_missing") == 0.0
    assert _signal(x, "absent_share") == 0.0


def test_a_lone_quote_stands_one_point_above_nothing(lexical: LexicalIndex) -> None:
    ev = _evidence("Who was Rollo?", CORPUS[1], [1.0], [_scored(3.0, [0.9])])
    assert _signal(features(ev, lexical), "margin") == 1.0


def test_what_the_question_names_and_the_sources_lack_is_counted(lexical: LexicalIndex) -> None:
    ev = _evidence(
        "When did the Normans reach Iceland in 1066?", CORPUS[0], [1.0, 1.0], [_scored(1.0, [0.9, 0.2])], agree=False
    )
    x = features(ev, lexical)
    assert _signal(x, "names_missing") == pytest.approx(0.5)  # Normans said, Iceland not
    assert _signal(x, "numbers_missing") == 1.0  # 1066 is not in this passage
    assert set(terms(ev.query.text)) == {"norman", "reach", "iceland", "1066"}
    assert _signal(x, "absent_share") == pytest.approx(2 / 4)  # "reach" and "iceland": the corpus lacks them
    assert _signal(x, "type_in_passage") == 0.0  # no date in it
    assert _signal(x, "agree") == 0.0


def _model() -> Abstainer:
    return Abstainer(
        mean=np.zeros(len(FEATURES)),
        scale=np.ones(len(FEATURES)),
        coef=np.linspace(-1.0, 1.0, len(FEATURES)),
        intercept=0.25,
        threshold=0.4,
    )


def test_probability_is_logistic_and_answers_from_the_threshold_up() -> None:
    model = _model()
    assert model.probability(np.zeros(len(FEATURES))) == pytest.approx(1 / (1 + np.exp(-0.25)))
    assert 0.0 < model.probability(np.full(len(FEATURES), 50.0)) <= 1.0
    assert model.answers(0.4) and model.answers(0.9)
    assert not model.answers(0.3999)


def test_json_round_trip_and_other_features_are_refused() -> None:
    model = _model()
    again = Abstainer.from_json(json.loads(json.dumps(model.to_json())))
    x = np.random.default_rng(0).normal(size=len(FEATURES))
    assert again.probability(x) == model.probability(x)
    assert again.threshold == model.threshold
    with pytest.raises(ValueError, match="other signals"):
        Abstainer.from_json({**model.to_json(), "features": ["score", "margin"]})
    with pytest.raises(ValueError, match="other signals"):
        Abstainer.from_json({**model.to_json(), "features": list(reversed(FEATURES))})


def test_the_shipped_abstainer_loads_for_these_signals() -> None:
    raw = json.loads(resources.files("briefqa").joinpath("models/abstainer.json").read_text())
    assert raw["features"] == list(FEATURES)
    model = shipped_abstainer()
    assert model is shipped_abstainer(), "read once"
    assert len(model.coef) == len(model.mean) == len(model.scale) == len(FEATURES)
    assert (model.scale > 0).all()
    assert 0.0 < model.threshold < 1.0


@pytest.mark.parametrize(
    ("signal", "direction"),
    [
        ("names_missing", -1),  # the passage lacks names the question uses
    ],
)
def test_the_shipped_probability_moves_with_the_clearly_signed_signals(signal: str, direction: int) -> None:
    model = shipped_abstainer()
    i = FEATURES.index(signal)
    assert np.sign(model.coef[i]) == direction and abs(model.coef[i]) > 0.1, "refitted with another sign?"
    base = model.mean.copy()
    moved = base.copy()
    moved[i] += model.scale[i]
    assert (model.probability(moved) - model.probability(base)) * direction > 0


def test_an_acronym_is_said_when_spelled_out_or_dotted() -> None:
    from briefqa.answers.abstain import acronym_said, names_missing

    assert acronym_said("UN", "a resolution of the United Nations General Assembly")
    assert acronym_said("NATO", "the North Atlantic Treaty Organization met in Brussels")
    assert acronym_said("US", "U.S. forces landed") and acronym_said("EU", "the EU budget")
    assert not acronym_said("EU", "the United States and Canada")
    assert names_missing(["NASA", "Houston"], "The National Aeronautics and Space Administration in Houston") == 0.0
    assert names_missing(["FIFA"], "The football association met in Zurich.") == 1.0


def test_a_coined_name_is_not_said_by_the_word_inside_it() -> None:
    from briefqa.answers.abstain import names_missing

    assert names_missing(["YouTube"], "The tube network of London carries millions.") == 1.0
    assert names_missing(["YouTube"], "Videos on YouTube reach millions.") == 0.0
    assert names_missing(["Normans"], "The Norman conquest of England") == 0.0  # a form of the same name


def test_numbers_are_compared_whole_with_or_without_thousands_commas() -> None:
    from briefqa.answers.abstain import numbers_in, numbers_missing

    assert numbers_in("Were 1,500 or 2.5 million sheep sold in 1999?") == ["1500", "2.5", "1999"]
    assert numbers_missing(["1500"], "Some 1,500 sheep were sold.") == 0.0
    assert numbers_missing(["1500"], "Some 1500 sheep were sold.") == 0.0
    assert numbers_missing(["2.5"], "It weighs 2.5 tonnes.") == 0.0
    assert numbers_missing(["1500"], "Some 1 or 500 sheep.") == 1.0, "the parts of a number do not say it"
    assert numbers_missing(["1500", "1999"], "In 1999 the flock grew.") == 0.5


@pytest.mark.parametrize("signal", ["absent_share", "names_missing", "numbers_missing"])
def test_what_the_sources_lack_never_makes_an_answer_likelier(signal: str) -> None:
    """More of the question missing from the passage or the sources: never a likelier answer.

    Fitted on SQuAD alone, ``absent_share`` once came out positive (near misses reuse their
    paragraph's words); the fit now leaves such a signal out instead.
    """
    model = shipped_abstainer()
    i = FEATURES.index(signal)
    assert model.coef[i] <= 0.0
    base = model.mean.copy()
    moved = base.copy()
    moved[i] += model.scale[i]
    assert model.probability(moved) <= model.probability(base)


@pytest.mark.parametrize(
    ("signals", "direction"),
    [
        # MaxSim and the shares matched at 0.6 / 0.75 / 0.9 read the same matches.
        (("maxsim_idf", "matched_60", "matched_75", "matched_90", "passage_matched_75"), +1),
        # The rarest question piece matched worst, in the quote and in its passage.
        (("gap_quote", "gap_passage"), -1),
        # The kind of answer asked for, held by the quote and by its passage.
        (("type_held", "type_in_passage"), +1),
    ],
)
def test_signals_that_read_the_same_evidence_move_the_probability_together(
    signals: tuple[str, ...], direction: int
) -> None:
    """Collinear signals are judged together: one of them alone may take either sign in a fit, but
    better alignment, a smaller gap, an answer of the kind asked for make an answer likelier."""
    model = shipped_abstainer()
    base = model.mean.copy()
    moved = base.copy()
    for name in signals:
        i = FEATURES.index(name)
        moved[i] += model.scale[i]
    assert (model.probability(moved) - model.probability(base)) * direction > 0.02
