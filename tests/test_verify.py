"""Citation verification (qa/answer/verify.py) and what the engine does with unsupported sentences.

Scripted drafts come from LangChain's fake chat model standing in for an LLM backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from qa.answer.engine import Engine
from qa.answer.verify import Verifier, key_terms, strip_markers
from qa.config import Settings
from qa.ingest.index import Index
from qa.schema import Answer, AskRequest
from tests.conftest import HashEmbedder, ScriptedEngine

S003 = "003_dc7ce24594d87c5a.txt"
TROOPS = (
    "France has 1,500 soldiers in Niger, despite coup leaders claim they have broken security "
    "accords with Paris, while the United States has 1,100 troops there."
)
MODY = (
    "The request came during a visit to neighboring Mali by one of the coup leaders, "
    "Gen. Salifou Mody, who made contact with someone from Wagner."
)
PLANTED = "The junta received 5,000 Wagner fighters on 3 March."


def assert_contract(answer: Answer, retrieved: Sequence[Any] | None = None) -> None:
    """Every [n] resolves to exactly one citation and every citation is used; a refusal cites
    nothing; with the retrieved passages, every quote lies inside a retrieved chunk."""
    used = {
        int(n)
        for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", answer.answer)
        for n in group.split(",")
    }
    numbers = [c.n for c in answer.citations]
    assert len(numbers) == len(set(numbers)), numbers
    assert used == set(numbers), (answer.answer, numbers)
    if answer.refused:
        assert answer.citations == []
    if retrieved is None:
        return
    chunks = {p.chunk_id: p for p in retrieved}
    for c in answer.citations:
        assert c.chunk_id in chunks, f"citation {c.n} points at an unretrieved chunk"
        p = chunks[c.chunk_id]
        assert (p.source, p.date, p.title) == (c.source, c.date, c.title)
        assert p.start <= c.start < c.end <= p.end
        assert c.quote == p.text[c.start - p.start : c.end - p.start]


# -- fast: the checker with a hash embedder -----------------------------------------------------


@pytest.fixture
def verifier() -> Verifier:
    return Verifier(HashEmbedder(), threshold=0.5)


def test_key_terms_are_numbers_and_names() -> None:
    terms = key_terms("The United States has 1,100 troops in Niger on 3 March.")
    assert terms == ["united", "states", "1100", "niger", "3", "march"]
    assert "the" not in key_terms("Then the junta spoke.")  # sentence-initial words are skipped


def test_strip_markers() -> None:
    assert strip_markers("A claim. [1][2, 3]") == "A claim."
    assert strip_markers("A [1] claim [2,3].") == "A claim."


def test_a_quoted_sentence_is_supported(verifier: Verifier) -> None:
    support = verifier.check(TROOPS + " [1]", [MODY, TROOPS])
    assert support.supported and support.missing == ()
    assert support.best == 1
    start, end = support.span
    assert TROOPS[start:end] == TROOPS


def test_a_verbatim_sentence_needs_no_model_call() -> None:
    embedder = HashEmbedder()
    support = Verifier(embedder).check(MODY + " [2]", [TROOPS, f"Earlier. {MODY} Later."])
    assert support.supported and support.score == 1.0
    assert embedder.embedded == 0
    text = f"Earlier. {MODY} Later."
    assert text[support.span[0] : support.span[1]] == MODY and support.best == 1


def test_a_fragment_of_a_sentence_is_checked_by_the_model() -> None:
    """Only whole sentences take the shortcut: a clause cut out of one can change its meaning."""
    embedder = HashEmbedder()
    clause = "Gen. Salifou Mody, who made contact with someone from Wagner."
    support = Verifier(embedder).check(clause, [MODY])
    assert embedder.embedded > 0 and support.score < 1.0


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        ("France has 2,500 soldiers in Niger.", {"2500"}),
        ("The United States has 1,100 troops in Chad.", {"chad"}),
        ("Gen. Salifou Mody met Yevgeny Prigozhin in Mali.", {"yevgeny", "prigozhin"}),
        (PLANTED, {"5000", "3", "march"}),
    ],
)
def test_a_number_or_name_absent_from_the_evidence_fails(
    verifier: Verifier, sentence: str, absent: set[str]
) -> None:
    support = verifier.check(sentence, [TROOPS, MODY])
    assert not support.supported
    assert set(support.missing) == absent


def test_no_evidence_supports_nothing(verifier: Verifier) -> None:
    support = verifier.check("The United States has 1,100 troops in Niger.", [])
    assert not support.supported and support.score == 0.0
    assert not verifier.check("[1]", [TROOPS]).supported  # markers alone are no sentence


# -- slow: the real model, thresholds as configured ---------------------------------------------


@pytest.fixture(scope="module")
def real_verifier(real_embedder: Any) -> Verifier:
    return Verifier(real_embedder, Settings().support_threshold)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sentence",
    [
        "The United States has 1,100 troops in Niger.",
        "France has 1,500 soldiers in Niger.",
        "Gen. Salifou Mody visited Mali and made contact with Wagner.",
    ],
)
def test_real_paraphrase_is_supported(real_verifier: Verifier, sentence: str) -> None:
    support = real_verifier.check(sentence, [TROOPS, MODY])
    assert support.supported, support


@pytest.mark.slow
def test_real_unrelated_sentence_fails_on_score(real_verifier: Verifier) -> None:
    support = real_verifier.check("Niger is famous for its football tournaments.", [TROOPS, MODY])
    assert support.missing == ()  # every name is there: only the support score can reject it
    assert not support.supported and support.score < real_verifier.threshold


# -- slow: scripted drafts through the engine with the real model and seed index ----------------


@pytest.fixture(scope="module")
def engine(seed_index: Index, real_embedder: Any) -> ScriptedEngine:
    return ScriptedEngine(seed_index.settings, seed_index, real_embedder)


QUESTION = "How many US troops are in Niger?"
TOP_K = 5


def _n_of(engine: Engine[Index], text: str) -> int:
    """The draft number ([n], 1-based) of the retrieved passage containing `text`."""
    passages = engine.retrieve(QUESTION, TOP_K)
    return next(i for i, p in enumerate(passages, start=1) if text in p.text)


@pytest.mark.slow
def test_planted_unsupported_sentence_is_removed(engine: ScriptedEngine) -> None:
    n = _n_of(engine, "1,100 troops")
    planted = PLANTED[:-1]
    engine.script(f"The United States has 1,100 troops in Niger [{n}]. {planted} [{n}].")
    answer = engine.ask(AskRequest(question=QUESTION, backend="openai", top_k=TOP_K))
    assert not answer.refused and answer.backend == "openai"
    assert answer.dropped_sentences >= 1
    assert "5,000" not in answer.answer and "March" not in answer.answer
    assert answer.answer == "The United States has 1,100 troops in Niger. [1]"
    assert [(c.n, c.source, c.date) for c in answer.citations] == [(1, S003, None)]
    assert "1,100 troops" in answer.citations[0].quote
    assert_contract(answer, engine.retrieve(QUESTION, TOP_K))


@pytest.mark.slow
def test_planted_sentence_in_the_prompted_format_is_removed(engine: ScriptedEngine) -> None:
    n = _n_of(engine, "1,100 troops")
    engine.script(f"The United States has 1,100 troops in Niger. [{n}] {PLANTED} [{n}]")
    answer = engine.ask(AskRequest(question=QUESTION, backend="openai", top_k=TOP_K))
    assert answer.dropped_sentences >= 1
    assert answer.answer == "The United States has 1,100 troops in Niger. [1]"
    assert_contract(answer, engine.retrieve(QUESTION, TOP_K))


@pytest.mark.slow
def test_a_sentence_is_checked_against_the_passage_it_cites(engine: ScriptedEngine) -> None:
    passages = engine.retrieve(QUESTION, TOP_K)
    wrong = next(i for i, p in enumerate(passages, start=1) if "1,100" not in p.text)
    right = _n_of(engine, "1,100 troops")
    engine.script(
        f"The United States has 1,100 troops in Niger [{wrong}]. "
        f"France has 1,500 soldiers in Niger [{right}]."
    )
    answer = engine.ask(AskRequest(question=QUESTION, backend="openai", top_k=TOP_K))
    assert answer.dropped_sentences == 1
    assert answer.answer == "France has 1,500 soldiers in Niger. [1]"
    assert_contract(answer, passages)


@pytest.mark.slow
def test_markers_to_unretrieved_passages_never_become_citations(engine: ScriptedEngine) -> None:
    passages = engine.retrieve(QUESTION, TOP_K)
    assert len(passages) == 5
    engine.script("The United States has 1,100 troops in Niger [9]. Niger has 7 [0] lakes [6].")
    answer = engine.ask(AskRequest(question=QUESTION, backend="openai", top_k=TOP_K))
    assert "[9]" not in answer.answer and "[6]" not in answer.answer and "[0]" not in answer.answer
    assert all(1 <= c.n <= len(answer.citations) for c in answer.citations)
    assert "lakes" not in answer.answer and answer.dropped_sentences >= 1
    assert_contract(answer, passages)


@pytest.mark.slow
def test_a_sentence_citing_nothing_supported_is_dropped(engine: ScriptedEngine) -> None:
    passages = engine.retrieve(QUESTION, TOP_K)
    n = _n_of(engine, "1,100 troops")
    engine.script(
        "Bananas grow well in the highlands of Ecuador. "
        f"The United States has 1,100 troops in Niger [{n}]."
    )
    answer = engine.ask(AskRequest(question=QUESTION, backend="openai", top_k=TOP_K))
    assert "Bananas" not in answer.answer
    assert answer.dropped_sentences == 1
    assert answer.answer == "The United States has 1,100 troops in Niger. [1]"
    assert_contract(answer, passages)


@pytest.mark.slow
def test_an_uncited_but_supported_sentence_gets_a_citation(engine: ScriptedEngine) -> None:
    passages = engine.retrieve(QUESTION, TOP_K)
    engine.script("The United States has 1,100 troops in Niger.")
    answer = engine.ask(AskRequest(question=QUESTION, backend="openai", top_k=TOP_K))
    assert answer.answer == "The United States has 1,100 troops in Niger. [1]"
    assert answer.citations[0].source == S003
    assert_contract(answer, passages)


@pytest.mark.slow
def test_a_draft_with_nothing_supported_falls_back_to_extractive(engine: ScriptedEngine) -> None:
    passages = engine.retrieve(QUESTION, TOP_K)
    engine.script(f"{PLANTED[:-1]} [1]. Wagner fighters landed on the Moon.")
    answer = engine.ask(AskRequest(question=QUESTION, backend="openai", top_k=TOP_K))
    assert not answer.refused
    assert answer.dropped_sentences == 2
    assert "1,100" in answer.answer and "Moon" not in answer.answer
    assert answer.citations and answer.citations[0].source == S003
    assert_contract(answer, passages)
