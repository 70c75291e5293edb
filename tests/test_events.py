"""Events of a timeline's subject (qa/answer/events.py): a line names the subject or an alias and
reports something that happened, not an assessment. Fast, on hand-made entities and tokens;
the spaCy tagger itself in one slow test."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from qa.answer.events import Token, happened, spacy_pos, subject
from qa.answer.reader.entities import Entity

_AUX = {"is": "be", "are": "be", "was": "be", "were": "be", "has": "have", "have": "have"}
_VERBS = {  # word -> (tag, lemma)
    "faces": ("VBZ", "face"),
    "stands": ("VBZ", "stand"),
    "remains": ("VBZ", "remain"),
    "counter": ("VB", "counter"),
    "considered": ("VBD", "consider"),
    "gave": ("VBD", "give"),
    "held": ("VBD", "hold"),
    "set": ("VBD", "set"),
    "said": ("VBD", "say"),
}


def fake_pos(texts: Sequence[str]) -> list[list[Token]]:
    """A deterministic stand-in for spaCy's tagger: auxiliaries, a few present-tense verbs,
    words in -ed as past-tense verbs, "to", and nouns."""
    tagged = []
    for text in texts:
        tokens: list[Token] = []
        for word in re.findall(r"[\w’']+", text.lower()):
            if word in _AUX:
                tokens.append(("AUX", "VBZ", _AUX[word]))
            elif word in _VERBS:
                tokens.append(("VERB", *_VERBS[word]))
            elif word.endswith("ed"):
                tokens.append(("VERB", "VBD", word))
            elif word == "to":
                tokens.append(("PART", "TO", "to"))
            else:
                tokens.append(("NOUN", "NN", word))
        tagged.append(tokens)
    return tagged


def entities(text: str, *names: tuple[str, str]) -> list[Entity]:
    """Entities of `text`: (name, label) pairs found at their first occurrence."""
    found = []
    for name, label in names:
        start = text.index(name)
        found.append(Entity(start, start + len(name), label, name))
    return found


FRENCH = "the French troops in Niger"
WAGNER = "Wagner's involvement in Niger"


def test_a_line_that_does_not_name_the_subject_is_not_an_event_of_it() -> None:
    troops = subject(FRENCH, entities(FRENCH, ("French", "NORP"), ("Niger", "GPE")))
    # "in Niger" says where, not what: a line about Niger alone is not about the troops
    assert not troops.named_in(
        "The recent political events unfolding in Niger have highlighted a power struggle."
    )
    assert troops.named_in("The fear is that the junta may oust Western troops.")
    # a people's country is an alias (CLDR): French -> France
    assert troops.named_in("France has 1,500 soldiers in Niger.")


def test_a_possessor_is_the_actor_the_timeline_is_about() -> None:
    wagner = subject(WAGNER, entities(WAGNER, ("Wagner", "ORG"), ("Niger", "GPE")))
    assert not wagner.named_in(
        "The involvement of the presidential guard in the coup sheds light on tensions."
    )
    assert wagner.named_in("The coup leader sought help from Russia’s Wagner Group.")


def test_names_in_the_passages_that_extend_the_subjects_name_are_aliases() -> None:
    topic = "President Bazoum"
    seen = [Entity(0, 14, "PERSON", "Mohamed Bazoum"), Entity(0, 5, "PERSON", "Nuland")]
    bazoum = subject(topic, entities(topic, ("Bazoum", "PERSON")), seen)
    assert bazoum.named_in("Mohamed was moved to a military base.")
    assert not bazoum.named_in("Nuland flew to Niamey.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Niger, once considered a democratic model, now faces significant challenges.", False),
        ("France stands with ECOWAS in its efforts to counter the coup attempt.", False),
        ("The situation remains tense.", False),
        ("The junta closed the airspace of Niger.", True),
        ("ECOWAS has imposed sanctions on Niger.", True),
    ],
)
def test_an_event_reports_an_action_or_change_not_an_assessment(text: str, expected: bool) -> None:
    assert happened(fake_pos([text])[0], [], text) is expected


def test_a_date_expression_or_a_dated_dateline_makes_an_event() -> None:
    text = "The situation remains tense on Sunday."
    sunday = entities(text, ("Sunday", "DATE"))
    assert happened(fake_pos([text])[0], sunday, text)
    dateline = "NIAMEY, Aug 6 (Reuters) - The situation remains tense."
    assert happened(fake_pos([dateline])[0], [], dateline)
    undated = "NIAMEY (Reuters) - The situation remains tense."
    assert not happened(fake_pos([undated])[0], [], undated)


@pytest.mark.slow
def test_spacys_tags_tell_an_event_from_an_assessment() -> None:
    texts = [
        "Niger, once considered a democratic model for the region, now faces significant "
        "challenges.",
        "France stands with ECOWAS in its efforts to counter the coup attempt.",
        "As tensions escalate, the junta has closed Niger’s airspace.",
        "The main objective of the movement is to reinstate President Mohamed Bazoum.",
    ]
    verdicts = [happened(tokens, [], t) for tokens, t in zip(spacy_pos(texts), texts, strict=True)]
    assert verdicts == [False, False, True, True]
