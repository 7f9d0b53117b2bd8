"""Index -> probe questions with known answerability, generated from the corpus itself.

Answerable probes ask about a sentence with a subset of its own words (and, where the sentence
holds a date or a quantity, with "When"/"How many" in place of it). Unanswerable probes are the
same questions with their most distinctive word swapped for a word the corpus lacks, questions
about an attribute the corpus never mentions of something it does ("What is the <absent> of
<entity>?"), typed questions whose sentence cannot answer them ("When ..." of a sentence without
a date), and questions of absent words only. They calibrate ``abstain``; eval questions never do.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from .answer_types import holds_type
from .lexical import stopwords, terms, words
from .store import IndexData

_WH = ("What", "How", "Which", "Why", "What does the brief say about")
_ENTITY = re.compile(r"\b[A-Z][\w.-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w.-]*)*")


def absent_words(data: IndexData, vocabulary: Sequence[str], limit: int = 5000) -> list[str]:
    """Plain words (from the model's vocabulary) whose stems the corpus never uses."""
    known = data.lexical.doc_freq
    out = []
    for word in vocabulary:
        if len(word) >= 4 and word.isalpha() and word.isascii() and word not in stopwords():
            stems = terms(word)
            if stems and stems[0] not in known:
                out.append(word)
        if len(out) >= limit:
            break
    return out


def generate(data: IndexData, vocabulary: Sequence[str], max_sentences: int = 160,
             seed: int = 13) -> list[tuple[str, int]]:
    """(question, 1 if the corpus answers it else 0) pairs."""
    rng = random.Random(seed)
    absent = absent_words(data, vocabulary)
    if not absent:
        absent = ["zyxwv"]
    pool = [i for i in range(len(data.sent_start)) if len(_sentence(data, i).split()) >= 6]
    rng.shuffle(pool)
    probes: list[tuple[str, int]] = []
    for sid in pool[:max_sentences]:
        text = _sentence(data, sid)
        content = [w for w in re.findall(r"[\w’'-]+", text) if w.lower() not in stopwords() and len(w) > 1]
        if len(content) < 3:
            continue
        keep = _subset(rng, content)
        probes.append((f"{rng.choice(_WH)} {' '.join(keep)}?", 1))
        swapped = list(keep)
        weights = [data.lexical.idf(t[0]) if (t := terms(w)) else 0.0 for w in swapped]
        swapped[max(range(len(swapped)), key=weights.__getitem__)] = rng.choice(absent)
        probes.append((f"{rng.choice(_WH)} {' '.join(swapped)}?", 0))
        for kind, opener in (("date", "When"), ("quantity", "How many")):
            if holds_type(kind, text):
                plain = [w for w in keep if not holds_type(kind, w)]
                if len(plain) >= 2:
                    probes.append((f"{opener} {' '.join(plain)}?", 1))
            else:
                probes.append((f"{opener} {' '.join(keep)}?", 0))
        entities = [m.group(0) for m in _ENTITY.finditer(text) if m.start() > 0]
        subject = rng.choice(entities) if entities else max(content, key=len)
        attribute = " ".join(rng.sample(absent, rng.choice((1, 1, 2))))
        probes.append((f"What is the {attribute} of {subject}?", 0))
    for _ in range(max(5, len(probes) // 12)):
        probes.append((f"{rng.choice(_WH)} {' '.join(rng.sample(absent, 3))}?", 0))
    return probes


def _sentence(data: IndexData, sid: int) -> str:
    doc = data.documents[int(data.sent_doc[sid])]
    return doc.text[int(data.sent_start[sid]) : int(data.sent_end[sid])]


def _subset(rng: random.Random, content: list[str]) -> list[str]:
    n = max(3, round(len(content) * rng.uniform(0.4, 0.7)))
    picked = sorted(rng.sample(range(len(content)), min(n, len(content))))
    return [content[i] for i in picked]


__all__ = ["absent_words", "generate", "words"]
