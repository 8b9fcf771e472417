"""Near-duplicate titles on realistic pairs."""

from __future__ import annotations

import pytest

from bot.matching import same_story, title_key

SAME = [
    (
        "Sudan: Fighting erupts in El Fasher, thousands flee",
        "Fighting erupts in El Fasher, Sudan; thousands flee",
    ),
    ("UN warns of ethnic cleansing in Darfur", "U.N. warns of 'ethnic cleansing' in Darfur"),
    (
        "South Sudan: Clashes in Malakal PoC site kill 18",
        "Clashes in Malakal PoC site kill 18 - South Sudan",
    ),
    (
        "Somalia: Al-Shabaab attack on Mogadishu hotel kills 12",
        "Al-Shabaab attack on Mogadishu hotel kills 12",
    ),
    ("Haïti : violences des gangs à Port-au-Prince", "Haiti: violences des gangs a Port-au-Prince"),
]
DIFFERENT = [
    ("Somalia: Floods Situation Report No. 3", "Somalia: Drought Situation Report No. 3"),
    ("Sudan", "Sudan: Fighting in Darfur displaces 10,000"),
    (
        "Central African Republic: IRIN News Briefs, 5 November",
        "Somalia: IRIN News Briefs, 5 November",
    ),
    ("Massacre in Ituri, DRC", "Cholera outbreak in Ituri, DRC"),
    (
        "UNHCR welcomes new funding for refugees in Chad",
        "UNHCR alarmed by attacks on refugees in Chad",
    ),
]


def test_title_key_folds_and_drops_noise() -> None:
    assert (
        title_key("Sudan: Fighting in the Darfur region (2024)") == "sudan fighting darfur region"
    )
    assert title_key("Haïti") == title_key("HAITI")


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_story(a: str, b: str) -> None:
    assert same_story(a, b)
    assert same_story(b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_stories(a: str, b: str) -> None:
    assert not same_story(a, b)


def test_spelling_variants_of_one_story() -> None:
    assert same_story(
        "Gunmen kill 30 villagers in Zamfara state",
        "Gunmen killed 30 villagers in Zamfara State",
    )
