"""The trend arrow (CrisisWatch-style): deteriorated, improved or unchanged — and why.

The rule, stated in every briefing:

    weighted score = Σ severity weight of the period's matching reports
                     (info 0, watch 1, warning 3, critical 9)

    deteriorated  a critical report occurred and the previous period had none,
                  or the score rose by ≥ 25 % and by ≥ 2 points (from 0: reached ≥ 2 points)
    improved      no critical report, and the score fell by ≥ 25 % and by ≥ 2 points
    unchanged     otherwise

The 2-point floor keeps a quiet situation (1 report → 2 reports) from swinging the arrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Direction = Literal["deteriorated", "improved", "unchanged"]
SEVERITY_WEIGHTS: Mapping[str, float] = {"info": 0.0, "watch": 1.0, "warning": 3.0, "critical": 9.0}
CHANGE_RATIO = 0.25
MIN_POINTS = 2.0
RULE = (
    "weighted score = Σ severity weights (watch 1, warning 3, critical 9); deteriorated when a "
    "critical report occurred after a period without one, or the score rose ≥ 25% and ≥ 2 points; "
    "improved when it fell ≥ 25% and ≥ 2 points without a critical report; otherwise unchanged"
)


@dataclass(frozen=True, kw_only=True)
class Trend:
    direction: Direction
    reason: str
    score: float
    previous_score: float


def weighted_score(severities: Mapping[str, int]) -> float:
    """Σ weight × count over a period's severity counts (unknown severities weigh 0)."""
    return float(sum(SEVERITY_WEIGHTS.get(sev, 0.0) * n for sev, n in severities.items()))


def _pct(score: float, previous: float) -> str:
    return f"{abs(score - previous) / previous:.0%}"


def decide_trend(*, current: Mapping[str, int], previous: Mapping[str, int]) -> Trend:
    """Pure: the trend from two periods' severity counts, with the reason in plain words."""
    score, before = weighted_score(current), weighted_score(previous)
    critical, critical_before = current.get("critical", 0), previous.get("critical", 0)
    change = score - before

    def trend(direction: Direction, reason: str) -> Trend:
        return Trend(direction=direction, reason=reason, score=score, previous_score=before)

    if critical and not critical_before:
        return trend(
            "deteriorated",
            f"{critical} critical report(s) this period and none in the previous one",
        )
    if change >= MIN_POINTS and (before == 0 or change >= CHANGE_RATIO * before):
        rose = "from 0" if before == 0 else _pct(score, before)
        return trend(
            "deteriorated",
            f"weighted score rose {rose} ({before:g} → {score:g}; threshold ≥ 25% and ≥ 2 points)",
        )
    if not critical and -change >= MIN_POINTS and -change >= CHANGE_RATIO * before:
        return trend(
            "improved",
            f"weighted score fell {_pct(score, before)} ({before:g} → {score:g}; "
            "threshold ≥ 25% and ≥ 2 points, no critical report)",
        )
    return trend(
        "unchanged",
        f"weighted score {before:g} → {score:g}: less than a 25% / 2-point change"
        + (" (critical reports in both periods)" if critical and critical_before else ""),
    )
