"""Fit the language threshold of ``answers/notices.py``: when is a question not English?

A question is refused as not English when the language identifier gives another language more
than half of its probability and leaves English less than a share of it. The share is the
largest of ``GRID`` that refuses at most ``MAX_REFUSED`` of SQuAD's English questions (SQuAD
1.1's training set and SQuAD 2.0's 27 dev articles: every question there is English, so each
one refused is a false abstention). Beside it: how many of ``PROBES`` (questions written for
this in other languages, none from any eval set) each share recognises, and the same for the
rule it replaced (another language above half alone).

    python -m training.fit_notices
"""

from __future__ import annotations

import sys

import numpy as np

from training.collect import DEV, OTHER, TRAIN

GRID = (0.0001, 0.001, 0.01, 0.05, 0.1, 0.2)
MAX_REFUSED = 0.0003
PROBES = [
    "¿Cuánto gasta el gobierno en carreteras cada año?",
    "Wie viel gibt die Stadt jedes Jahr für Schulen aus?",
    "Combien la région dépense-t-elle pour ses ports ?",
    "Quanto spende il comune per la pulizia delle strade?",
    "Quanto o estado gasta com hospitais?",
    "Hoeveel geeft de provincie uit aan dijken?",
    "Ile miasto wydaje na tramwaje?",
    "Hur mycket spenderar kommunen på bibliotek?",
    "Belediye parklara ne kadar harcıyor?",
    "Berapa banyak kota menghabiskan untuk jembatan?",
    "Wer hat den Bericht geschrieben?",
    "Qui a construit le phare ?",
    "¿Quién fundó la cooperativa?",
    "Wann wurde die Brücke gebaut?",
    "Quando è stata costruita la diga?",
    "Kiedy zbudowano most?",
    "Hvem skrev rapporten?",
    "Kuka rakensi sillan?",
    "Ki alapította a várost?",
    "Cine a scris raportul?",
]


def main() -> None:
    for path in (TRAIN, DEV, OTHER):
        if not path.is_file():
            sys.exit(f"fit_notices: {path} not found: fitting needs the shared SQuAD data (../shared/data/)")
    from briefqa.answers.notices import OTHER_LANGUAGE_PROBABILITY, language_of, not_english
    from briefqa.evaluation.squad import read_squad

    articles = [a for path in (TRAIN, DEV, OTHER) for a in read_squad(path)]
    questions = [q.question for a in articles for qs in a.questions for q in qs]

    def judged(texts: list[str]) -> np.ndarray:
        """English's probability, or 1 where no other language takes more than half (kept)."""
        found = [language_of(t) for t in texts]
        return np.array([e if lang != "en" and p > OTHER_LANGUAGE_PROBABILITY else 1.0 for lang, p, e in found])

    english, probes = judged(questions), judged(PROBES)
    print(f"{len(questions)} English questions, {len(PROBES)} in other languages")
    chosen = GRID[0]
    for share in GRID:
        refused = float((english < share).mean())
        caught = int((probes < share).sum())
        print(
            f"  English below {share:g}: refuses {refused:.5f} of English ({int((english < share).sum())}), "
            f"recognises {caught} of {len(PROBES)}"
        )
        if refused <= MAX_REFUSED:
            chosen = share
    print(f"chosen: {chosen:g} (the largest refusing at most {MAX_REFUSED:g} of English questions)")
    print(f"as shipped: refuses {sum(map(not_english, questions))} English, recognises {sum(map(not_english, PROBES))}")
    from briefqa.answers.notices import _identifier

    def before(question: str) -> bool:
        language, probability = _identifier().classify(question)
        return bool(language != "en" and probability > 0.5)

    print(
        f"the rule before (another language above half): refuses {sum(map(before, questions))} English, "
        f"recognises {sum(map(before, PROBES))}"
    )


if __name__ == "__main__":
    main()
