"""Scoring: weights with diminishing returns, tier, corroboration, novelty, thresholds."""

from __future__ import annotations

import pytest

from bot.matching import AlertThresholds, Matcher, MatchResult, score

THRESHOLDS = AlertThresholds()
TITLE = "Sudan: ethnic cleansing in El Geneina as thousands displaced"


def _score(result: MatchResult, *, tier: int = 2, sources: int = 1, novel: str = "") -> float:
    novel_set = frozenset(novel.split())
    scored = score(
        result,
        tier=tier,
        corroborating_sources=sources,
        novel_indicators=novel_set,
        thresholds=THRESHOLDS,
    )
    return scored.score


def test_why_line_reads_like_the_issue(matcher: Matcher) -> None:
    result = matcher.match_text(title=TITLE)
    scored = score(
        result,
        tier=1,
        corroborating_sources=3,
        novel_indicators=frozenset({"RF10"}),
        thresholds=THRESHOLDS,
    )
    assert scored.why.startswith(
        "Sudan, Darfur: RF10 intent to destroy: 'ethnic cleansing' (title)"
    )
    assert "EE4 displacement" in scored.why
    assert scored.why.endswith("tier-1 source; 3 sources; new factor RF10")
    assert scored.breakdown[-1] == ("total", scored.score)
    assert scored.severity in {"warning", "critical"}


def test_tier_sources_and_novelty_raise_the_score(matcher: Matcher) -> None:
    result = matcher.match_text(title=TITLE)
    assert _score(result, tier=1) > _score(result, tier=2) > _score(result, tier=3)
    assert _score(result, sources=3) > _score(result, sources=1)
    assert _score(result, novel="RF10") > _score(result)
    assert _score(result, novel="RF3") == _score(result)  # not in this item


def test_more_terms_of_one_indicator_have_diminishing_returns(matcher: Matcher) -> None:
    one = matcher.match_text(title="Massacre in Sudan")
    two = matcher.match_text(title="Massacre and looting in Sudan")
    three = matcher.match_text(title="Massacre, looting and mass graves in Sudan")
    gain_two = _score(two) - _score(one)
    gain_three = _score(three) - _score(two)
    assert 0 < gain_three < gain_two < _score(one)


def test_no_situation_is_info(matcher: Matcher) -> None:
    result = matcher.match_text(title="Genocide and massacre warnings")
    assert result.indicators and not result.situations
    scored = score(
        result, tier=1, corroborating_sources=5, novel_indicators=frozenset(), thresholds=THRESHOLDS
    )
    assert scored.severity == "info"


def test_no_indicator_scores_zero(matcher: Matcher) -> None:
    assert _score(matcher.match_text(title="Sudan: weekly bulletin"), novel="RF1") == 0.0


@pytest.mark.parametrize(
    ("title", "tier", "sources", "expected"),
    [
        ("Sudan: weekly bulletin", 1, 1, "info"),
        ("Clashes in Sudan", 2, 1, "info"),
        ("Massacre in Sudan", 2, 1, "warning"),
        ("Massacre in Sudan as thousands displaced", 1, 3, "critical"),
        ("Sudan: genocide feared as massacres and ethnic cleansing spread", 1, 4, "critical"),
    ],
)
def test_default_thresholds_calibration(
    matcher: Matcher, title: str, tier: int, sources: int, expected: str
) -> None:
    result = matcher.match_text(title=title)
    scored = score(
        result,
        tier=tier,
        corroborating_sources=sources,
        novel_indicators=frozenset(),
        thresholds=THRESHOLDS,
    )
    assert scored.severity == expected


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="watch <= warning <= critical"):
        AlertThresholds(watch=5, warning=2, critical=9)


def test_a_risk_event_is_explained_and_scored_once(matcher: Matcher) -> None:
    """Soldiers killed in fighting is armed conflict (RF1), not an attack on civilians: it
    shows in the why line with who did it, and scores like one RF1 term."""
    result = matcher.match_text(title="Soldiers killed by rebels near El Fasher", language="en")
    scored = score(
        result, tier=2, corroborating_sources=1, novel_indicators=frozenset(), thresholds=THRESHOLDS
    )
    assert "RF1 armed conflict" in scored.why
    assert "'killed' + 'Soldiers' (title); by 'rebels'" in scored.why
    rf1 = [value for label, value in scored.breakdown if label.startswith("RF1 ")]
    assert rf1 and rf1[0] > 0
    assert scored.severity in {"info", "watch"}
