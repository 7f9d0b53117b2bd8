"""Why a question is not answered: another language, nothing searchable, a follow-up without a thread."""

from __future__ import annotations

import json

import pytest

from briefqa.answers.conversation import needs_thread
from briefqa.answers.notices import NO_THREAD, NOT_ENGLISH, NOTHING_SEARCHABLE, not_english, notice_for

from ..conftest import REPO, SQUAD_SAMPLE

# Written for this test, not taken from any set: the questions of the brief's dev set and of the
# issue, as a French, German, Spanish, Japanese or Arabic reader would ask them.
OTHER_LANGUAGES = {
    "fr": [
        "Quelle part des satellites actifs du monde les États-Unis exploitent-ils ?",
        "Pourquoi le Japon accueille-t-il des charges utiles américaines ?",
        "Quels sont les défis de l'alliance ?",
        "Combien de satellites le Japon possède-t-il ?",
    ],
    "de": [
        "Welchen Anteil der aktiven Satelliten betreiben die Vereinigten Staaten?",
        "Warum beherbergt Japan amerikanische Nutzlasten?",
        "Welche Herausforderungen bleiben für das Bündnis?",
        "Wie viele Satelliten hat Japan?",
    ],
    "es": [
        "¿Qué porcentaje de los satélites activos del mundo operan los Estados Unidos?",
        "¿Por qué Japón alberga cargas útiles estadounidenses?",
        "¿Cuáles son los desafíos de la alianza?",
        "¿Cuántos satélites tiene Japón?",
    ],
    "ja": [
        "米国は世界の稼働中の衛星の何割を運用していますか？",
        "日本はなぜ米国の搭載物を受け入れているのですか？",
        "同盟の課題は何ですか？",
        "日本は？",
    ],
    "ar": [
        "ما هي نسبة الأقمار الصناعية النشطة التي تشغلها الولايات المتحدة؟",
        "لماذا تستضيف اليابان حمولات أمريكية؟",
        "ما هي التحديات التي تواجه التحالف؟",
        "واليابان؟",
    ],
}


def english_questions() -> list[str]:
    """Every question (and earlier question) of the repository's eval sets: all English."""
    questions: list[str] = []
    for path in sorted((REPO / "eval").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                questions += [item["question"], *item.get("history", [])]
    squad = json.loads(SQUAD_SAMPLE.read_text(encoding="utf-8"))
    questions += [qa["question"] for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]]
    return [q.strip() for q in questions if q.strip()]


def test_no_english_eval_question_is_taken_for_another_language() -> None:
    questions = english_questions()
    assert len(questions) > 350
    flagged = [q for q in questions if not_english(q)]
    assert flagged == [], f"{len(flagged)} of {len(questions)} English questions read as another language"


@pytest.mark.parametrize(
    "question",
    ["And Japan?", "Why?", "SM-3?", "GDP?", "Who is Bingen?", "What is QZSS?", "JAXA budget", "Artemis accords", "ok"],
)
def test_short_english_questions_full_of_names_stay_english(question: str) -> None:
    assert not not_english(question)


# Written here: short questions that another language outscores English on (Nigerian Pidgin at
# 0.68-0.82) while English keeps 0.15-0.17, which the rule before (another language above half)
# refused.
@pytest.mark.parametrize("question", ["When did Nigeria win its first medal?", "Who won the 2003 Nigerian election?"])
def test_english_outscored_but_plausible_stays_english(question: str) -> None:
    assert not not_english(question)


@pytest.mark.parametrize(("language", "question"), [(lang, q) for lang, qs in OTHER_LANGUAGES.items() for q in qs])
def test_questions_in_other_languages_are_recognised(language: str, question: str) -> None:
    assert not_english(question), language


def test_each_known_reason_has_its_notice() -> None:
    french = notice_for(OTHER_LANGUAGES["fr"][0], [])
    assert french is not None and french.text == NOT_ENGLISH and french.search
    for nothing in ("🚀🛰️", "?!", "the", "Why?", "…"):
        found = notice_for(nothing, [])
        assert found is not None and found.text == NOTHING_SEARCHABLE and not found.search, nothing
    alone = notice_for("And Japan?", [])
    assert alone is not None and alone.text == NO_THREAD and alone.search
    assert notice_for("And Japan?", ["What share of the world's active satellites does the US operate?"]) is None
    assert notice_for("How many satellites does the United States operate?", []) is None


def test_only_a_follow_ups_tail_needs_a_thread() -> None:
    for tail in ("And Japan?", "What about its budget?", "how about the United States", "And for Japan?"):
        assert needs_thread(tail), tail
    for whole in ("Why does Japan host U.S. payloads?", "What does this mean for Japan?", "Andorra?"):
        assert not needs_thread(whole), whole


def test_the_identifier_read_in_the_background_judges_alike_and_is_read_once() -> None:
    """``briefqa ask`` reads the language model beside the encoder: questions asked from several
    threads while it is still being read get the answers a process that read it first gets."""
    import subprocess
    import sys

    questions = [q for qs in OTHER_LANGUAGES.values() for q in qs] + ["Who is Bingen?", "GDP?", "Why did Japan agree?"]
    script = (
        "import json, sys\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from briefqa.answers import notices\n"
        "qs = json.loads(sys.stdin.read())\n"
        "if sys.argv[1] == 'warm':\n"
        "    notices.warm_identifier()\n"
        "    with ThreadPoolExecutor(4) as pool:\n"
        "        got = list(pool.map(notices.not_english, qs))\n"
        "else:\n"
        "    got = [notices.not_english(q) for q in qs]\n"
        "print(json.dumps([got, notices._read_identifier.cache_info().misses]))\n"
    )
    runs = {
        mode: json.loads(
            subprocess.run(
                [sys.executable, "-c", script, mode],
                input=json.dumps(questions),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for mode in ("warm", "cold")
    }
    assert runs["warm"] == runs["cold"]
    judged, reads = runs["warm"]
    assert reads == 1
    assert judged[:-3] == [True] * (len(questions) - 3) and judged[-3:] == [False] * 3
