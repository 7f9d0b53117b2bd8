"""Generated corpora and distinct questions, made at run time from the brief's sentences.

A generated source is a markdown file: a title, then ``passages`` sections, each a ``##``
heading over one paragraph of ``sentences`` sentences. A chunk never crosses a heading, so each
section is one passage and a corpus of ``n_sources * passages`` passages is that many chunks.
Sentences are runs of 10-18 words of the brief's own sentences with a share of their content
words swapped for random words from the model's vocabulary, so every passage is distinct text
in the brief's register (short sentences keep the 10,000-passage build within the time budget).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_WORD = re.compile(r"[A-Za-z][A-Za-z’'-]*")
_OPENERS = ("What", "How", "Which", "Why", "What does the brief say about", "Who", "When did")
_STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "there",
        "these",
        "this",
        "those",
        "to",
        "was",
        "were",
        "which",
        "while",
        "who",
        "will",
        "with",
        "would",
        "not",
        "more",
        "than",
        "also",
    }
)


def brief_sentences(text: str) -> list[str]:
    """The brief's sentences (a plain split is enough to recombine them)."""
    out = []
    for line in text.splitlines():
        for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", line.strip()):
            if len(piece.split()) >= 8 and piece[-1] in ".!?":
                out.append(piece)
    return out


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w.lower() not in _STOP and len(w) > 2]


@dataclass
class Generator:
    """Deterministic text made from the brief's sentences and a word list."""

    sentences: Sequence[str]
    vocabulary: Sequence[str]
    seed: int = 7
    swap: float = 0.35

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def sentence(self) -> str:
        """A run of 10-18 words from a brief sentence, some swapped, closed as a sentence."""
        words = self.rng.choice(self.sentences).split()
        n = min(len(words), self.rng.randint(10, 18))
        at = self.rng.randint(0, len(words) - n)
        base = " ".join(words[at : at + n]).rstrip(".,;:!?—–-")
        base = base[0].upper() + base[1:] + "."

        def swap(m: re.Match[str]) -> str:
            word = m.group(0)
            if word.lower() in _STOP or len(word) <= 3 or self.rng.random() > self.swap:
                return word
            new = self.rng.choice(self.vocabulary)
            return new.capitalize() if word[0].isupper() else new

        return _WORD.sub(swap, base)

    def heading(self) -> str:
        return " ".join(self.rng.choice(self.vocabulary) for _ in range(self.rng.randint(2, 4))).title()

    def source(self, number: int, passages: int, sentences: int) -> str:
        lines = [f"# Generated brief {number}: {self.heading()}", ""]
        for _ in range(passages):
            lines += [f"## {self.heading()}", "", " ".join(self.sentence() for _ in range(sentences)), ""]
        return "\n".join(lines)


def write_corpus(
    folder: Path, gen: Generator, n_sources: int, passages: int = 10, sentences: int = 2, start: int = 0
) -> list[Path]:
    """Write ``n_sources`` generated sources into ``folder`` (numbered from ``start``)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n_sources):
        path = folder / f"{i // 1000:03d}" / f"brief-{i:06d}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(gen.source(i, passages, sentences), encoding="utf-8")
        paths.append(path)
    return paths


# Variants of a seed question that change its text (the searcher's cache key) but not its content
# words: openers that are stopwords, the first letter's case (the model is uncased), the mark.
_PREFIXES = ("", "So, ", "Now, ", "Then, ", "So then, ", "And now, ")
_ENDINGS = ("?", " ?", "")


def variants(question: str) -> Iterator[str]:
    """Distinct texts of ``question``: the question itself first."""
    body = question.strip().rstrip("?").strip()
    for ending in _ENDINGS:
        for lower in (False, True):
            for prefix in _PREFIXES:
                text = body[0].lower() + body[1:] if (lower or prefix) else body
                yield f"{prefix}{text}{ending}"


class QuestionPool:
    """Distinct questions, handed out once each (the searcher caches by question text).

    With seed questions (the eval file's), every batch alternates a variant of a seed question and
    a question generated from corpus words, so each batch has the same mix of real and generated
    questions (real ones more often hold words the corpus lacks, which costs the searcher extra
    encodes).
    """

    def __init__(self, seeds: Sequence[str], texts: Sequence[str], seed: int = 11) -> None:
        self._rng = random.Random(seed)
        self._seen: set[str] = set()
        self._texts = list(texts)
        self._seed_stream = self._seeded(list(dict.fromkeys(seeds))) if seeds else None
        self._gen = self._generated()

    def _fresh(self, q: str) -> bool:
        key = q.strip()
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _seeded(self, seeds: list[str]) -> Iterator[str]:
        streams = [variants(q) for q in seeds]
        while streams:
            for stream in list(streams):
                for q in stream:
                    if self._fresh(q):
                        yield q
                        break
                else:
                    streams.remove(stream)

    def _generated(self) -> Iterator[str]:
        while True:
            words = content_words(self._rng.choice(self._texts))
            if len(words) < 4:
                continue
            n = min(len(words), self._rng.randint(3, 7))
            picked = sorted(self._rng.sample(range(len(words)), n))
            q = f"{self._rng.choice(_OPENERS)} {' '.join(words[i] for i in picked)}?"
            if self._fresh(q):
                yield q

    def take(self, n: int) -> list[str]:
        """``n`` questions never handed out before."""
        out: list[str] = []
        while len(out) < n:
            seeded = next(self._seed_stream, None) if self._seed_stream and len(out) % 2 == 0 else None
            out.append(seeded if seeded is not None else next(self._gen))
        return out
