"""The learned reader (qa/answer/reader/): answer types, short answers, the model's features,
refusal of a question whose answer type no passage holds, follow-ups across turns."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa.answer.reader.entities import Entity, outside_dateline
from qa.answer.reader.features import FEATURES, candidates, featurize
from qa.answer.reader.model import MODEL_PATH, ReaderModel, load_model
from qa.answer.reader.questions import analyse, expected_labels
from qa.answer.reader.reader import LearnedReader
from qa.answer.reader.short_answer import pick
from qa.errors import BackendError
from qa.evaluation.legacy_followup import condense_rules, resolve
from qa.schema import REFUSAL, Turn
from qa.types import Passage
from tests.conftest import HashEmbedder

# A stand-in for spaCy's NER in fast tests: known names, dates and numbers by pattern.
_KNOWN = {
    "PERSON": r"Rhissa Ag Boula|Salifou Mody|Victoria Nuland|Mohamed Bazoum|Bazoum",
    "ORG": r"Council of Resistance for the Republic|CRR|Washington Post|ECOWAS",
    "GPE": r"Niger|Chad|Mali|France|Niamey",
    "DATE": r"July 26|Monday|2021",
    "CARDINAL": r"\b\d[\d,]*\b",
}


def fake_entities(texts: Sequence[str]) -> list[tuple[Entity, ...]]:
    out = []
    for text in texts:
        found: list[Entity] = []
        for label, pattern in _KNOWN.items():
            for m in re.finditer(pattern, text):
                if not any(e.start <= m.start() < e.end for e in found):
                    found.append(Entity(m.start(), m.end(), label, m.group()))
        out.append(tuple(sorted(found, key=lambda e: e.start)))
    return out


def passage(text: str, n: int = 0, source: str = "000_a.txt") -> Passage:
    return Passage(
        chunk_id=f"c{n}",
        source=source,
        text=text,
        start=100,
        end=100 + len(text),
        date=None,
        title=None,
        score=0.03,
        dense=0.5,
        lexical=3.0,
    )


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("Who leads the Council of Resistance for the Republic?", "PERSON"),
        ("Which American diplomat was kept from seeing the deposed leader?", "PERSON"),
        ("When did Wagner arrive in Mali?", "DATE"),
        ("In what year was the university founded?", "DATE"),
        ("How many U.S. troops are in Niger?", "CARDINAL"),
        ("What is the population of Niger?", "CARDINAL"),
        ("How much aid does the US give?", "MONEY"),
        ("What percentage of voters backed him?", "PERCENT"),
        ("Where did Bazoum publish an opinion piece?", "GPE"),
        ("Which country closed its airspace?", "GPE"),
        ("Which outlet published the interview?", "ORG"),
        ("Which think tank wrote the report?", "ORG"),
        ("Which of these fast food restaurants has the slowest drive-thru?", "ORG"),
        ("Which meal kit service recalled a product?", "ORG"),
        ("Which Labour MP stepped down from a front-bench post?", "PERSON"),
        ("Which head of government said on Monday that he would step down?", "PERSON"),
        ("Which countries signed the pact?", "GPE"),
        ("Which state's governor commuted the sentences?", "GPE"),
        ("Which company's chief executive resigned?", "ORG"),
        ("Historic rainfall led to flooding at which national park?", "GPE"),
        ("Beyoncé made history on Sunday. When did she win her first Grammy?", "DATE"),
        ("After the queen's death, who took the throne?", "PERSON"),
        ("This country's president said the talks had failed.", "GPE"),
        ("Officers of this national tax agency raided the offices.", "ORG"),
    ],
)
def test_answer_type_of_a_typed_question(question: str, first: str) -> None:
    assert expected_labels(question)[0] == first


@pytest.mark.parametrize(
    "question",
    [
        "Why did the junta seize power?",
        "How did Nuland describe Bazoum's situation?",
        "What happened at the embassy?",
        "What did Catherine Colonna say about the threat of force?",
        "What did the president of this country say?",
        "What is the state of the economy?",
        "The city museum opened again last month. Why had it been closed?",
        "The governor banned the use of which app on office phones?",
        "Which of these NCAA women’s hockey tournament teams did not advance?",
    ],
)
def test_explanations_have_no_answer_type(question: str) -> None:
    assert expected_labels(question) == ()


def test_short_answer_is_the_asked_thing_not_the_question_entity() -> None:
    sentence = "Chad's president Mahamat Deby named Salifou Mody to lead talks with Niger."
    entities = tuple(
        Entity(sentence.index(t), sentence.index(t) + len(t), label, t)
        for t, label in (
            ("Chad", "GPE"),
            ("Mahamat Deby", "PERSON"),
            ("Salifou Mody", "PERSON"),
            ("Niger", "GPE"),
        )
    )
    info = analyse("Who did Mahamat Deby name to lead talks?")
    got = pick(info, sentence, entities)
    assert got is not None and got.text == "Salifou Mody"
    assert sentence[got.start : got.end] == got.text
    assert pick(analyse("Why did Chad hold talks?"), sentence, entities) is None


def test_how_long_picks_a_duration_not_a_day() -> None:
    sentence = "The strike, which ended on Thursday, lasted three weeks."
    entities = tuple(
        Entity(sentence.index(t), sentence.index(t) + len(t), "DATE", t)
        for t in ("Thursday", "three weeks")
    )
    got = pick(analyse("How long did the strike last?"), sentence, entities)
    assert got is not None and got.text == "three weeks"
    got = pick(analyse("When did the strike end?"), sentence, entities)
    assert got is not None and got.text == "Thursday"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("PHOENIX – Mayor Kate Gallego said", ["Kate Gallego"]),
        ("WASHINGTON (AP) — Joe Biden said", ["Joe Biden"]),
        ("SAN FRANCISCO, Calif. — Apple said", ["Apple"]),
        ("NEW YORK, June 3 (Reuters) - Apple said", ["Apple"]),
        ("(CNN) Apple said", ["Apple"]),
        ("ECOWAS — the bloc — said", ["ECOWAS"]),  # no sentence starts after the dash
        ("U.S. - China talks", ["U.S.", "China"]),
    ],
)
def test_a_dateline_names_no_answer(text: str, kept: list[str]) -> None:
    names: tuple[str, ...] = (
        "PHOENIX",
        "WASHINGTON",
        "SAN FRANCISCO",
        "NEW YORK",
        "CNN",
        "AP",
        "Reuters",
        "June 3",
    )
    names += ("Kate Gallego", "Joe Biden", "Apple", "ECOWAS", "U.S.", "China")
    found = [Entity(text.index(n), text.index(n) + len(n), "X", n) for n in names if n in text]
    assert [e.text for e in outside_dateline(text, found)] == kept


def test_the_committed_model_matches_the_features_the_code_computes() -> None:
    model = load_model()
    assert model.features == FEATURES
    assert model.coef.shape == (len(FEATURES),) and 0.0 < model.threshold < 1.0
    meta = json.loads(MODEL_PATH.with_suffix(".meta.json").read_text())
    assert meta["features"] == list(FEATURES)
    assert "dev-v2.0.json.gz" in meta["data"] and len(meta["data"]["dev-v2.0.json.gz"]) == 64


def test_a_model_trained_on_other_features_is_refused() -> None:
    data = load_model().to_json()
    data["features"] = [*FEATURES[:-1], "something_else"]
    with pytest.raises(BackendError, match="retrain"):
        ReaderModel.from_json(data)


def test_feature_rows_have_one_column_per_feature() -> None:
    passages = [passage("Rhissa Ag Boula leads the Council of Resistance for the Republic.")]
    units = candidates(passages)
    rows = featurize(
        analyse("Who leads the CRR?"), passages, units, np.ones(len(units)), fake_entities
    )
    assert rows.shape == (1, len(FEATURES))


def reader() -> LearnedReader:
    return LearnedReader(HashEmbedder(), tagger=fake_entities)


def test_the_answer_sentence_and_its_short_answer_lie_in_the_quote() -> None:
    passages = [
        passage("The coup began on July 26 in the capital Niamey, officials said on Monday night."),
        passage(
            "Rhissa Ag Boula leads the Council of Resistance for the Republic, a new group. "
            "The group opposes the junta that seized power in Niger.",
            1,
        ),
    ]
    found = reader().best("Who leads the Council of Resistance for the Republic?", passages)
    assert found is not None and found.passage == 1 and found.short is not None
    text = passages[1].text
    assert found.start <= found.short[0] < found.short[1] <= found.end
    assert text[found.short[0] : found.short[1]] == "Rhissa Ag Boula"


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return super().embed_documents(texts)


def test_only_the_shortlist_is_embedded_and_the_rest_is_never_chosen() -> None:
    filler = [f"Officials met on day {i} to discuss the weather in the region." for i in range(12)]
    answer = "Rhissa Ag Boula leads the Council of Resistance for the Republic, a new group."
    passages = [passage(" ".join(filler[:6]), 0), passage(answer + " " + " ".join(filler[6:]), 1)]
    question = "Who leads the Council of Resistance for the Republic?"
    embedder = CountingEmbedder()
    short = LearnedReader(embedder, tagger=fake_entities, shortlist=3)
    units, probs = short.scores(question, passages)
    assert len(units) == 13 and len(embedder.texts) == 3 and answer in embedder.texts
    assert np.count_nonzero(probs) == 3
    assert units[int(np.argmax(probs))].text == answer
    everything = CountingEmbedder()
    LearnedReader(everything, tagger=fake_entities, shortlist=None).scores(question, passages)
    assert len(everything.texts) == 13


def test_absent_answer_type_lowers_the_probability_below_refusal() -> None:
    """Asked for a person, and no passage names anyone: the reader refuses."""
    question = "Who leads the Council of Resistance for the Republic?"
    without = [
        passage("The Council of Resistance for the Republic was formed to oppose the coup there.")
    ]
    with_person = [
        passage(
            "Rhissa Ag Boula leads the Council of Resistance for the Republic, against the coup."
        )
    ]
    r = reader()
    low, high = r.evidence(question, without), r.evidence(question, with_person)
    assert low < high
    assert low < r.model.threshold


@pytest.mark.parametrize(
    "passages",
    [[], [passage("Too short here.")], [passage("Yes. No. Maybe so.")]],
)
def test_no_sentence_of_five_words_reads_as_nothing(passages: list[Passage]) -> None:
    reading = reader().read("Who leads the CRR?", passages)
    assert reading.chosen == [] and reading.confidence == 0.0


def test_a_pronoun_resolves_to_the_person_of_the_previous_answer() -> None:
    resolved = resolve(
        "When was he detained?",
        "Who leads the Council of Resistance for the Republic?",
        "Rhissa Ag Boula leads the Council of Resistance for the Republic. [1]",
        fake_entities,
    )
    assert resolved == "When was Rhissa Ag Boula detained?"


def test_a_follow_up_across_turns_names_the_entity_and_keeps_the_topic() -> None:
    history = [
        Turn(role="user", content="What did the junta do with Niger's airspace?"),
        Turn(role="assistant", content="The junta closed Niger's airspace. [1]"),
        Turn(role="user", content="Who was detained by the junta?"),
        Turn(role="assistant", content="Mohamed Bazoum was detained by the junta. [1]"),
    ]
    got = condense_rules(history, "Where is he held?", fake_entities)
    assert got.startswith("Where is Mohamed Bazoum held?")
    assert "junta" in got
    assert condense_rules([], "Where is he held?", fake_entities) == "Where is he held?"


def test_possessive_pronoun_becomes_a_possessive() -> None:
    got = resolve(
        "What is its capital?",
        "Where did the coup happen?",
        "The coup happened in Niger. [1]",
        fake_entities,
    )
    assert got == "What is Niger's capital?"


@pytest.mark.slow
def test_spacy_finds_the_entities_the_reader_needs() -> None:
    from qa.answer.reader.entities import EntityTagger

    (ents,) = EntityTagger()(["Gen. Salifou Mody met officials in Paris on July 28, 2023."])
    labels = {e.text: e.label for e in ents}
    assert labels.get("Salifou Mody") == "PERSON" and labels.get("Paris") == "GPE"
    assert any(label == "DATE" for label in labels.values())


@pytest.mark.slow
def test_a_country_spacy_calls_a_person_is_a_place() -> None:
    """seeds-006: spaCy's small model tags "Mali" as PERSON in this sentence."""
    from qa.answer.reader.entities import EntityTagger, countries

    assert {"Mali", "Burkina Faso", "Niger", "Trinidad and Tobago"} <= countries()
    assert "European Union" not in countries()
    sentence = "Mali and Burkina Faso asked the United Nations to prevent an intervention."
    (ents,) = EntityTagger()([sentence])
    labels = {e.text: e.label for e in ents}
    assert labels.get("Mali") == "GPE" and labels.get("Burkina Faso") == "GPE"
    assert labels.get("the United Nations", labels.get("United Nations")) == "ORG"
    (ents,) = EntityTagger()(["Chad Smith said the band would tour."])
    assert "GPE" not in {e.label for e in ents}  # a name that starts with a country's: a person


def test_model_file_is_small() -> None:
    assert Path(MODEL_PATH).stat().st_size < 20_000


@pytest.mark.parametrize("question", ["the of and?", "?", "it is what it is"])
def test_a_stopword_question_reads_without_error(question: str) -> None:
    passages = [
        passage("Rhissa Ag Boula leads the Council of Resistance for the Republic, a group.")
    ]
    reading = reader().read(question, passages)
    assert 0.0 <= reading.confidence <= 1.0


def test_a_stopword_question_to_the_engine_refuses_or_answers(tmp_settings, hash_embedder) -> None:
    from qa.answer.engine import Engine
    from qa.ingest.index import Index
    from qa.schema import AskRequest

    index = Index(tmp_settings, hash_embedder)
    index.ingest()
    engine = Engine(tmp_settings, index, hash_embedder)
    engine.learned.tagger = fake_entities
    seeds = {p.name for p in tmp_settings.corpus_dir.iterdir()}
    for question in ("the of and?", "Who is it?"):
        answer = engine.ask(AskRequest(question=question))
        # either the refusal with nothing cited, or an answer whose every marker is a citation
        # of a seed article
        assert answer.refused == (answer.answer == REFUSAL) == (not answer.citations)
        assert {c.source for c in answer.citations} <= seeds
        assert set(re.findall(r"\[(\d+)\]", answer.answer)) == {str(c.n) for c in answer.citations}
