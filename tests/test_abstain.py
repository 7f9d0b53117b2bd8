import numpy as np

from briefqa.abstain import ANSWER_RATE, FEATURES, Abstainer, fit


def _separable(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, 0] += 2.5 * y  # one informative signal, the rest noise
    return x, y


def test_fit_answers_the_promised_share_of_answerable_probes() -> None:
    x, y = _separable()
    model, figures = fit(x, y)
    answered = np.array([model.answers(row) for row in x[y == 1]])
    assert answered.mean() >= ANSWER_RATE - 0.01
    assert figures["answer_rate"] >= ANSWER_RATE - 0.01
    # An informative signal must buy real abstention on the unanswerable probes.
    assert figures["abstain_rate"] > 0.6


def test_probability_rises_with_the_informative_signal() -> None:
    x, y = _separable()
    model, _ = fit(x, y)
    low, high = np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
    high[0] = 3.0
    assert model.probability(high) > model.probability(low)


def test_json_round_trip_and_feature_mismatch() -> None:
    x, y = _separable()
    model, _ = fit(x, y)
    again = Abstainer.from_json(model.to_json())
    assert again is not None
    assert again.probability(x[0]) == model.probability(x[0])
    stale = {**model.to_json(), "features": ["something", "else"]}
    assert Abstainer.from_json(stale) is None
