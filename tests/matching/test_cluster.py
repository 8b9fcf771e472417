"""Near-duplicate titles on realistic pairs, and the story index (LSH) that finds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.assessment import StoryBook, Subject
from bot.matching import same_story, title_key
from bot.matching.cluster import story_bands
from bot.matching.model import MatchResult
from tests.conftest import corpus_path

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
# Wire stories as outlets rewrite them: a name dropped, an article added, an outlet's suffix,
# a headline cut short by the feed, a verb swapped
WIRE = [
    (
        "Trump threatens Iran after new wave of attacks on Gulf states",
        "Donald Trump threatens Iran following new wave of attacks on Gulf states",
    ),
    (
        "Fears of global energy crisis rise as Iran keeps shipping stranglehold",
        "Fears of a global energy crisis rise as Iran keeps stranglehold on shipping",
    ),
    (
        "Pope calls for ceasefire across the Middle East",
        "Pope calls for ceasefire across the Middle East | NewsRadio 1360",
    ),
    (
        "US says it bombed military sites on an island vital to Iran's oil network",
        "US says it bombed military sites on an island vital to Iran's oil n ...",
    ),
    (
        "US military refuelling plane crashes in western Iraq, rescue under way",
        "US military refuelling plane goes down in western Iraq; rescue under way",
    ),
    (
        "Israeli strikes on southern Lebanon kill 12, health ministry says - Reuters",
        "Israeli strikes on southern Lebanon kill 12, health ministry says",
    ),
]
DIFFERENT_WIRE = [
    (
        "Iran's new supreme leader says Strait of Hormuz will stay closed",
        "Pentagon says Iran's new supreme leader was likely wounded",
    ),
    ("Drone strike hits Kuwait international airport", "Missile strike hits US embassy in Baghdad"),
    (
        "Israeli strikes on southern Lebanon kill 12, health ministry says",
        "Israeli strikes on Beirut suburbs kill 4, health ministry says",
    ),
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


@pytest.mark.parametrize(("a", "b"), SAME + WIRE)
def test_same_story(a: str, b: str) -> None:
    assert same_story(a, b)
    assert same_story(b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT + DIFFERENT_WIRE)
def test_different_stories(a: str, b: str) -> None:
    assert not same_story(a, b)


def test_spelling_variants_of_one_story() -> None:
    assert same_story(
        "Gunmen kill 30 villagers in Zamfara state",
        "Gunmen killed 30 villagers in Zamfara State",
    )


NOW = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)


def _join(book: StoryBook, item_id: int, title: str, now: datetime = NOW) -> int:
    subject = Subject(
        item_id=item_id, key=title_key(title), source="", tier=2, result=MatchResult(), now=now
    )
    return book.join(subject)


@pytest.mark.parametrize(("a", "b"), SAME + WIRE)
def test_the_story_index_finds_each_same_story_pair(a: str, b: str) -> None:
    book = StoryBook(cluster_window=timedelta(hours=72), novelty_window=timedelta(days=28))
    assert _join(book, 1, a) == 1
    assert _join(book, 2, b, NOW + timedelta(hours=1)) == 1


@pytest.mark.parametrize(("a", "b"), DIFFERENT + DIFFERENT_WIRE)
def test_the_story_index_keeps_different_stories_apart(a: str, b: str) -> None:
    book = StoryBook(cluster_window=timedelta(hours=72), novelty_window=timedelta(days=28))
    _join(book, 1, a)
    assert _join(book, 2, b, NOW + timedelta(hours=1)) == 2


def test_story_bands_are_stable_64_bit_integers() -> None:
    bands = story_bands(title_key(WIRE[0][0]))
    assert len(bands) == 6 and all(-(2**63) <= b < 2**63 for b in bands)
    assert bands == story_bands(title_key(WIRE[0][0]))
    assert story_bands("") == ()


def test_a_crowded_band_keeps_only_its_newest_candidates() -> None:
    from bot.assessment import CANDIDATES_PER_BAND

    book = StoryBook(cluster_window=timedelta(hours=72), novelty_window=timedelta(days=28))
    for n in range(50):  # fifty different stories of one crisis
        _join(book, n + 1, f"Iran war day {n}: strikes on target {n} variant{n} place{n}")
    assert max(len(entries) for entries in book.bands.values()) <= CANDIDATES_PER_BAND


@pytest.mark.corpus
@pytest.mark.slow
def test_the_story_index_agrees_with_the_exhaustive_rule_on_real_headlines() -> None:
    from bench.ingest import load_stream
    from bench.stories import quality, settings_for

    path = corpus_path("headlines-stream", "gdelt-2026-03.jsonl")
    q = quality(load_stream(path), settings_for("sqlite://"))
    assert q["pairs"] > 5000
    assert q["recall"] >= 0.98 and q["precision"] >= 0.97 and q["decisions"] >= 0.999
