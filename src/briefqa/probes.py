"""Index -> probe questions with known answerability, generated from the corpus itself.

Answerable probes ask about a sentence with a subset of its own words: as they are, with one
word swapped for a closely related word the corpus never uses (a paraphrase), and, where the
sentence holds a date or a quantity, as "When"/"How many" questions. Unanswerable probes swap
the most distinctive word for an unrelated word the corpus lacks, ask for an attribute the
corpus never mentions of something it does ("What is the <absent> of <entity>?"), ask a typed
question that the sentence cannot answer ("When ..." of a sentence without a date), or use
absent words only. They calibrate ``abstain``; evaluation questions never do.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

import numpy as np

from .answer_types import holds_type
from .lexical import stopwords, terms
from .store import IndexData

_WH = ("What", "How", "Which", "Why", "What does the brief say about")
_ENTITY = re.compile(r"\b[A-Z][\w.-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w.-]*)*")
# Cosine bounds between single-word embeddings: above RELATED a swap keeps the meaning close
# enough to stay answerable; below UNRELATED it asks about something else.
RELATED, UNRELATED = 0.55, 0.15
WordEmbedder = Callable[[list[str]], np.ndarray]


def absent_words(data: IndexData, vocabulary: Sequence[str], limit: int = 1500) -> list[str]:
    """Common plain words (from the model's vocabulary) whose stems the corpus never uses."""
    known = data.lexical.doc_freq
    out = []
    # The first few thousand entries of a WordPiece vocabulary are characters and fragments.
    for word in vocabulary[1500:]:
        if len(word) >= 4 and word.isalpha() and word.isascii() and word not in stopwords():
            stems = terms(word)
            if stems and stems[0] not in known:
                out.append(word)
        if len(out) >= limit:
            break
    return out


def generate(data: IndexData, vocabulary: Sequence[str], embed_words: WordEmbedder,
             sentences: int = 120, seed: int = 13) -> list[tuple[str, int]]:
    """(question, 1 if the corpus answers it else 0) pairs, from about ``sentences`` draws.

    A small corpus is drawn from repeatedly (different word subsets each time) so that the fit
    rests on enough probes to be stable; a large one is sampled.
    """
    rng = random.Random(seed)
    absent = absent_words(data, vocabulary) or ["zyxwv"]
    pool = [i for i in range(len(data.sent_start)) if len(_sentence(data, i).split()) >= 6]
    rng.shuffle(pool)
    draws = (pool * (sentences // max(len(pool), 1) + 1))[:sentences] if pool else []
    chosen = [_sentence(data, i) for i in draws]
    contents = [[w for w in re.findall(r"[\w’'-]+", t) if w.lower() not in stopwords() and len(w) > 1]
                for t in chosen]
    neighbours = _Neighbours(absent, {w.lower() for c in contents for w in c if w.isalpha()}, embed_words)
    probes: list[tuple[str, int]] = []
    for text, content in zip(chosen, contents, strict=True):
        if len(content) < 3:
            continue
        keep = _subset(rng, content)
        probes.append((_ask(rng, keep), 1))
        related = neighbours.swap(rng, keep, related=True)
        if related:
            probes.append((_ask(rng, related), 1))
        key = max(range(len(keep)), key=lambda i: data.lexical.idf(t[0]) if (t := terms(keep[i])) else 0.0)
        unrelated = neighbours.swap(rng, keep, related=False, at=key)
        if unrelated:
            probes.append((_ask(rng, unrelated), 0))
        for kind, opener in (("date", "When"), ("quantity", "How many")):
            if holds_type(kind, text):
                plain = [w for w in keep if not holds_type(kind, w)]
                if len(plain) >= 2:
                    probes.append((f"{opener} {' '.join(plain)}?", 1))
            else:
                probes.append((f"{opener} {' '.join(keep)}?", 0))
        entities = [m.group(0) for m in _ENTITY.finditer(text) if m.start() > 0]
        subject = rng.choice(entities) if entities else max(content, key=len)
        attribute = " ".join(rng.choices(absent, k=rng.choice((1, 1, 2))))
        probes.append((f"What is the {attribute} of {subject}?", 0))
        stranger = rng.choice(absent).capitalize()
        probes.append((f"{rng.choice(_WH)} {stranger} {' '.join(keep[: max(2, len(keep) // 2)])}?", 0))
    for _ in range(max(5, len(probes) // 12)):
        probes.append((_ask(rng, rng.choices(absent, k=3)), 0))
    return probes


class _Neighbours:
    """Nearest and farthest absent words for the corpus words of the probes."""

    def __init__(self, absent: list[str], present: set[str], embed_words: WordEmbedder) -> None:
        self.absent = absent
        self.present = sorted(present)
        vectors = embed_words(self.absent + self.present)
        self.absent_vectors = vectors[: len(self.absent)]
        self.present_index = {w: len(self.absent) + i for i, w in enumerate(self.present)}
        self.vectors = vectors

    def swap(self, rng: random.Random, words: list[str], *, related: bool, at: int | None = None) -> list[str] | None:
        positions = [at] if at is not None else [i for i, w in enumerate(words) if w.lower() in self.present_index]
        rng.shuffle(positions)
        for i in positions:
            row = self.present_index.get(words[i].lower())
            if row is None:
                continue
            sims = self.absent_vectors @ self.vectors[row]
            if related:
                best = int(np.argmax(sims))
                if sims[best] < RELATED:
                    continue
                choice = self.absent[best]
            else:
                far = np.flatnonzero(np.abs(sims) < UNRELATED)
                if not len(far):
                    continue
                choice = self.absent[int(rng.choice(far))]
            if words[i][:1].isupper():
                choice = choice.capitalize()
            return [*words[:i], choice, *words[i + 1 :]]
        return None


def _ask(rng: random.Random, words: Sequence[str]) -> str:
    return f"{rng.choice(_WH)} {' '.join(words)}?"


def _sentence(data: IndexData, sid: int) -> str:
    doc = data.documents[int(data.sent_doc[sid])]
    return doc.text[int(data.sent_start[sid]) : int(data.sent_end[sid])]


def _subset(rng: random.Random, content: list[str]) -> list[str]:
    n = max(3, round(len(content) * rng.uniform(0.25, 0.55)))
    picked = sorted(rng.sample(range(len(content)), min(n, len(content))))
    return [content[i] for i in picked]
