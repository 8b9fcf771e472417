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
# (headline, the language its feed declares): appending English words to a French headline
# would change a *detected* language, and with it the terms that apply
SEEDS = [
    ("Massacre reported in South Sudan", "en"),
    ("Des milliers de déplacés au Tchad", "fr"),
    ("التطهير العرقي في السودان", "ar"),
    ("Беженцы в Южном Судане", "ru"),
    ("Hate speech in Ethiopia ahead of elections", "en"),
    ("Kinshasa: militias attack villages in Congo", "en"),
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.sampled_from(NEUTRAL), max_size=15))
def test_adding_unrelated_text_never_removes_a_match(
    matcher: Matcher, seed: tuple[str, str], words: list[str]
) -> None:
    title, lang = seed
    before = matcher.match_text(title=title, language=lang)
    after_title = matcher.match_text(title=title + ". " + " ".join(words), language=lang)
    after_summary = matcher.match_text(title=title, summary=" ".join(words), language=lang)
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
