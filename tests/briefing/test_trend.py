"""The trend rule: pure, explicit, and explained in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.briefing.trend import decide_trend, weighted_score


def test_weighted_score() -> None:
    assert weighted_score({"info": 5, "watch": 2, "warning": 1, "critical": 1}) == 14.0


@pytest.mark.parametrize(
    ("current", "previous", "direction", "reason"),
    [
        ({"warning": 5}, {"warning": 5, "watch": 1}, "unchanged", "score 16 → 15: less than"),
        ({"warning": 5}, {"warning": 4}, "deteriorated", "rose 25% (12 → 15"),  # 25% is enough
        ({"warning": 5}, {"warning": 3, "watch": 1}, "deteriorated", "rose 50% (10 → 15"),
        ({"watch": 2}, {}, "deteriorated", "rose from 0 (0 → 2"),
        ({"watch": 2}, {"watch": 1}, "unchanged", "1 → 2"),  # +100% but only 1 point
        ({"critical": 1}, {"warning": 5}, "deteriorated", "1 critical report(s) this period"),
        ({"critical": 1}, {"critical": 2}, "unchanged", "critical reports in both periods"),
        ({"watch": 3}, {"warning": 3}, "improved", "fell 67% (9 → 3"),
        ({"critical": 1}, {"critical": 1, "warning": 9}, "unchanged", "critical reports in both"),
        ({}, {}, "unchanged", "0 → 0"),
    ],
)
def test_trend_rule(
    current: dict[str, int], previous: dict[str, int], direction: str, reason: str
) -> None:
    trend = decide_trend(current=current, previous=previous)
    assert trend.direction == direction
    assert reason in trend.reason


counts = st.dictionaries(
    st.sampled_from(["info", "watch", "warning"]), st.integers(min_value=0, max_value=50)
)


@given(current=counts, previous=counts)
def test_a_fall_that_counts_as_improvement_is_a_rise_that_counts_as_deterioration(
    current: dict[str, int], previous: dict[str, int]
) -> None:
    forward = decide_trend(current=current, previous=previous).direction
    backward = decide_trend(current=previous, previous=current).direction
    if backward == "improved":
        assert forward == "deteriorated"
    if abs(weighted_score(current) - weighted_score(previous)) < 2:
        assert forward == backward == "unchanged"
