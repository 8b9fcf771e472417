"""Properties of the matcher as a whole."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching import Matcher

NEUTRAL = [
    "the",
    "weather",
    "market",
    "report",
    "quarterly",
    "school",
    "bridge",
    "wheat",
    "prices",
    "Tuesday",
    "meeting",
    "rain",
    "2024",
    "—",
    "(",
    ")",
    "«",
    "»",
    "data",
]
SEEDS = [
    "Massacre reported in South Sudan",
    "Des milliers de déplacés au Tchad",
    "التطهير العرقي في السودان",
    "Беженцы в Южном Судане",
    "Hate speech in Ethiopia ahead of elections",
    "Kinshasa: militias attack villages in Congo",
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.sampled_from(NEUTRAL), max_size=15))
def test_adding_unrelated_text_never_removes_a_match(
    matcher: Matcher, seed: str, words: list[str]
) -> None:
    before = matcher.match_text(title=seed)
    after_title = matcher.match_text(title=seed + ". " + " ".join(words))
    after_summary = matcher.match_text(title=seed, summary=" ".join(words))
    for after in (after_title, after_summary):
        assert set(before.situations) <= set(after.situations)
        assert set(before.indicators) <= set(after.indicators)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_never_crashes_and_offsets_are_in_range(matcher: Matcher, text: str) -> None:
    result = matcher.match_text(title=text, summary=text)
    for evidence in result.evidence:
        assert 0 <= evidence.start < evidence.end <= len(text)
        assert text[evidence.start : evidence.end] == evidence.matched
