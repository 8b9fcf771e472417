"""Pathological titles never crash the matcher and are read within bounds.

How long they take is measured by bench/match_speed.py ("pathological titles"); here we check
what does not depend on the machine: no exception, offsets inside the text, bounded reading.
"""

from __future__ import annotations

import pytest

from bot.matching import AlertThresholds, Matcher, score
from bot.matching.events import MAX_CHARS
from bot.matching.matcher import MAX_SUMMARY, MAX_TITLE

HOSTILE = {
    "100 kB": ("Sudan: militia killed 12 civilians in Darfur. " * 2300)[:100_000],
    "10,000 numbers": " ".join(str(i) for i in range(10_000)),
    "mixed scripts": "Sudan السودان Судан 苏丹 Soudan killed قتل убиты 12 " * 300,
    "RTL and zero-width": (
        "\u202eSudan\u200b: \u200fmilitia\u200d killed\u2066 12\u2069 civilians\ufeff " * 500
    ),
    "number word x1000": "Sudan: " + "dozens " * 1000 + "killed",
    "spelled numbers x1000": "Sudan: " + "twenty five " * 1000 + "civilians killed",
    "acts x2000": "Sudan " + "killed " * 2000,
    "names x5000": "Sudan Chad Niger " * 5000,
    "lone surrogates and controls": "Sudan \ud800 killed \x00\x07 12 \udfff civilians",
    "combining marks": "S\u0301u\u0301d\u0301a\u0301n killed 12 civilians" + "\u0301" * 5000,
}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("language", ["en", None])
def test_never_crashes(matcher: Matcher, name: str, language: str | None) -> None:
    text = HOSTILE[name]
    result = matcher.match_text(title=text, summary=text, language=language)
    score(
        result,
        tier=2,
        corroborating_sources=1,
        novel_indicators=frozenset(),
        thresholds=AlertThresholds(),
    )
    for e in result.evidence:
        limit = MAX_TITLE if e.field == "title" else MAX_SUMMARY
        assert 0 <= e.start < e.end <= min(len(text), limit)
    for event in result.events:
        assert event.end <= MAX_CHARS


def test_reading_is_bounded(matcher: Matcher) -> None:
    """Past the limits, nothing is read: a mention there is not found."""
    title = "x " * MAX_TITLE + "Massacre in Sudan"
    assert matcher.match_text(title=title, language="en").situations == ()
    summary = "x " * MAX_SUMMARY + "Massacre in Sudan"
    assert matcher.match_text(title="Report", summary=summary, language="en").situations == ()
