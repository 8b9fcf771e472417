"""Explainable severity: indicator weights × source tier × corroboration, plus novelty."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from bot.matching.model import Evidence, MatchResult
from bot.matching.settings import AlertThresholds

Severity = Literal["info", "watch", "warning", "critical"]

TIER_FACTORS = {1: 1.2, 2: 1.0, 3: 0.8}
REPEAT_DECAY = 0.5  # the 2nd term of one indicator adds half its weight, the 3rd a quarter…
TITLE_BONUS = 1.25  # an indicator named in the title weighs more than one in the summary
CORROBORATION_STEP = 0.25  # each further distinct source adds a quarter…
MAX_EXTRA_SOURCES = 4  # …up to ×2
NOVELTY_BONUS = 1.0  # per indicator not seen recently for the situation…
MAX_NOVEL = 2  # …counted at most twice


@dataclass(frozen=True, kw_only=True)
class Scored:
    """A score, its severity, the parts it is made of, and one readable line."""

    score: float
    severity: Severity
    breakdown: tuple[tuple[str, float], ...]
    why: str


def _diminishing(count: int) -> float:
    return sum(REPEAT_DECAY**k for k in range(count))


def _indicator_parts(result: MatchResult) -> list[tuple[str, float]]:
    terms = Counter(e.key for e in {(e.key, e.term): e for e in _indicators(result)}.values())
    in_title = {e.key for e in _indicators(result) if e.field == "title"}
    parts = []
    for factor in result.factors:
        value = factor.weight * _diminishing(terms[factor.code])
        value *= TITLE_BONUS if factor.code in in_title else 1.0
        label = f"{factor.code} {factor.short} ({terms[factor.code]} term(s))"
        parts.append((label, round(value, 3)))
    return parts


def _indicators(result: MatchResult) -> list[Evidence]:
    return [e for e in result.evidence if e.kind == "indicator"]


def _severity(score: float, thresholds: AlertThresholds) -> Severity:
    if score >= thresholds.critical:
        return "critical"
    if score >= thresholds.warning:
        return "warning"
    return "watch" if score >= thresholds.watch else "info"


def _why(result: MatchResult, *, tier: int, sources: int, novel: list[str]) -> str:
    first: dict[str, Evidence] = {}
    for e in _indicators(result):
        first.setdefault(e.key, e)
    factors = [
        f"{f.code} {f.short} ('{first[f.code].matched}' in {first[f.code].field})"
        for f in result.factors
    ]
    place = ", ".join(result.situation_names) or "no watched situation"
    bits = [f"{place}: " + (" + ".join(factors) or "no risk indicator"), f"tier-{tier} source"]
    bits.append(f"{sources} source{'s' if sources != 1 else ''}")
    if novel:
        bits.append("new factor" + ("s " if len(novel) > 1 else " ") + ", ".join(novel))
    return "; ".join(bits)


def score(
    result: MatchResult,
    *,
    tier: int,
    corroborating_sources: int,
    novel_indicators: frozenset[str],
    thresholds: AlertThresholds,
) -> Scored:
    """Score one match. An item that names no watched situation is always `info`."""
    parts = _indicator_parts(result)
    base = sum(value for _, value in parts)
    tier_factor = TIER_FACTORS.get(tier, TIER_FACTORS[3])
    sources = max(corroborating_sources, 1)
    corroboration = 1 + CORROBORATION_STEP * min(sources - 1, MAX_EXTRA_SOURCES)
    novel = sorted(set(result.indicators) & novel_indicators)
    bonus = NOVELTY_BONUS * min(len(novel), MAX_NOVEL)
    total = round(base * tier_factor * corroboration + bonus, 3) if base else 0.0
    parts += [
        (f"tier {tier} ×", tier_factor),
        (f"{sources} source(s) ×", corroboration),
        (f"new factor(s) {' '.join(novel) or '-'} +", bonus if base else 0.0),
        ("total", total),
    ]
    severity = _severity(total, thresholds) if result.situations else "info"
    why = _why(result, tier=tier, sources=sources, novel=novel)
    return Scored(score=total, severity=severity, breakdown=tuple(parts), why=why)
