"""The event layer: acts against victims or targets, counts, voice, and what is not an event.

Golden cases in data/events.json (written for these tests, in six languages, plus the probe
headlines of the issue that asked for events) run against a matcher watching every country,
as a new user's would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pycountry
import pytest

from bot.matching import AlertThresholds, Matcher, SituationSpec, build_matcher, score
from bot.matching.events import Event, detect_events
from bot.matching.morphology import word_keys
from bot.matching.scoring import strongest_event

DATA = Path(__file__).parent / "events_cases.json"
THRESHOLDS = AlertThresholds()


@pytest.fixture(scope="module")
def world() -> Matcher:
    return build_matcher(
        [
            SituationSpec(slug=c.alpha_3, name=c.name, countries=(c.alpha_3,))
            for c in pycountry.countries
        ]
    )


def _cases() -> list[Any]:
    cases = json.loads(DATA.read_text(encoding="utf-8"))
    return [pytest.param(c, id=c["name"]) for c in cases]


def _strongest(events: tuple[Event, ...]) -> Event | None:
    violations = [e for e in events if e.grade == "violation"]
    return max(violations or events, key=lambda e: e.severity(), default=None) if events else None


@pytest.mark.parametrize("case", _cases())
def test_golden_event(world: Matcher, case: dict[str, Any]) -> None:
    result = world.match_text(title=case["title"], language=case["lang"])
    scored = score(
        result, tier=2, corroborating_sources=1, novel_indicators=frozenset(), thresholds=THRESHOLDS
    )
    assert scored.severity == case["severity"], scored.why
    event = strongest_event(result, THRESHOLDS) or _strongest(result.events)
    assert (event.grade if event else None) == case["grade"], result.events
    if "count" in case:
        assert event is not None and event.count == case["count"]
    if "victims" in case:
        assert event is not None and set(case["victims"]) <= set(event.victims)
    if "codes" in case:
        assert set(case["codes"]) <= set(result.indicators)
    if "indicators" in case:
        assert set(case["indicators"]) <= set(result.indicators)
    if "absent" in case:  # risk factors this headline must not show
        assert not set(case["absent"]) & set(result.indicators), result.indicators
    for e in result.events:  # offsets point into the title
        assert 0 <= e.start < e.end <= len(case["title"])


def test_the_why_names_act_victims_and_count(world: Matcher) -> None:
    result = world.match_text(title="Militia killed 12 children in Ituri", language="en")
    scored = score(
        result, tier=2, corroborating_sources=1, novel_indicators=frozenset(), thresholds=THRESHOLDS
    )
    assert "RF11 attack on civilians: 'killed 12' + 'children' (title); 12 victims" in scored.why
    assert "by 'Militia'" in scored.why


def test_words_in_any_form_count() -> None:
    """Inflection is left to morphology, not to lists of forms."""
    for title, lang in [
        ("Soldiers are killing villagers", "en"),
        ("Soldiers kill villagers", "en"),
        ("Des soldats tuent des villageois", "fr"),
        ("Soldados asesinaron a aldeanos", "es"),
        ("Солдаты убили жителей деревни", "ru"),
        ("الجنود قتلوا سكان القرية", "ar"),
    ]:
        events = detect_events(title, lang, field="title")
        assert [e.grade for e in events] == ["violation"], (title, events)


def test_every_written_form_of_an_act_word_passes_the_prefilter(world: Matcher) -> None:
    """The automaton looks for what every form of an act word begins with: English writes
    "raping" and "razing" without the stem's "e"."""
    for title in ("Fighters raping women in Darfur", "Soldiers razing homes in Rakhine"):
        result = world.match_text(title=title, language="en")
        assert [e.grade for e in result.events] == ["violation"], title


def test_a_separable_act_takes_its_object_between() -> None:
    """ "beat … to death": the words between are the victim; the tail names no victim."""
    (event,) = detect_events("Mob beat a Muslim man to death in Jharkhand", "en", field="title")
    assert (event.act, event.phrase, event.victims) == ("kill", "beat … to death", ("identity",))
    assert "death" not in event.victim_words


def test_a_french_word_is_not_read_as_an_elision_that_lost_its_apostrophe() -> None:
    """ "lattaque" is "l'attaque" written without its apostrophe, but "couvrent" (they
    cover) is a word, not "c'ouvrent" (it opens): "couvrent le feu" is no opening of fire."""
    assert "attaqu" in word_keys("lattaque", "fr")
    assert word_keys("couvrent", "fr") == ("couvr",)
    assert detect_events("Les soldats couvrent le feu des rebelles", "fr", field="title") == []


def test_only_the_items_language_terms_apply(world: Matcher) -> None:
    # "mata" is "kills" in Spanish and Portuguese, nothing in English
    assert world.match_text(title="Mata Hari film premiere in Paris", language="en").events == ()


def test_unknown_language_reads_every_language_whose_act_words_appear(world: Matcher) -> None:
    result = world.match_text(title="Massacre in Sudan")  # too short to detect a language
    assert result.language is None
    assert [e.act for e in result.events] == ["massacre"]


def test_corroboration_raises_and_tier_three_lowers(world: Matcher) -> None:
    result = world.match_text(title="Militia killed 3 civilians in Ituri", language="en")

    def sev(tier: int, sources: int) -> str:
        s = score(
            result,
            tier=tier,
            corroborating_sources=sources,
            novel_indicators=frozenset(),
            thresholds=THRESHOLDS,
        )
        return s.severity

    assert sev(2, 1) == "watch"
    assert sev(2, 3) == "warning"  # three sources report the story
    assert sev(3, 1) == "watch"  # an unverified source lowers, never below watch
    assert sev(3, 3) == "watch"


def test_without_event_is_capped(world: Matcher) -> None:
    result = world.match_text(
        title="Hate speech and incitement to genocide spread in Sudan, UN says", language="en"
    )
    assert not result.events and result.indicators
    capped = score(
        result, tier=1, corroborating_sources=5, novel_indicators=frozenset(), thresholds=THRESHOLDS
    )
    assert capped.severity == "info"
    lifted = AlertThresholds(without_event="warning")
    allowed = score(
        result, tier=1, corroborating_sources=5, novel_indicators=frozenset(), thresholds=lifted
    )
    assert allowed.severity in {"watch", "warning"}


def test_casualty_thresholds_come_from_config(world: Matcher) -> None:
    result = world.match_text(title="Militia killed 12 civilians in Ituri", language="en")
    strict = AlertThresholds(mass_casualty=20, critical_casualties=50)
    scored = score(
        result, tier=2, corroborating_sources=1, novel_indicators=frozenset(), thresholds=strict
    )
    assert scored.severity == "watch"


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="mass_casualty <= critical_casualties"):
        AlertThresholds(mass_casualty=200, critical_casualties=100)
