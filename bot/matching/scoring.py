"""Explainable severity: events decide it; indicator weights, tier, corroboration rank it.

Severity (the rule the README states):
    no watched situation        info
    an event (bot/matching/events.py): the strongest one's severity — watch; warning for
        ≥ mass_casualty victims or a protected target; critical for ≥ critical_casualties —
        one step higher when ≥ corroboration_raise distinct sources report the story, one
        step lower (never below watch) from a tier-3 source
    no event                    the score against the thresholds, at most `without_event`
Score (for ranking and the breakdown): (indicator weights + event points) × tier ×
corroboration + novelty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from bot.matching.events import Event
from bot.matching.model import Evidence, MatchResult
from bot.matching.settings import AlertThresholds

Severity = Literal["info", "watch", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "watch", "warning", "critical")
EVENT_POINTS = {"watch": 3.0, "warning": 6.0, "critical": 10.0}
LOWEST_TIER = 3

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
    for event in _risks(result):
        # A risk event (soldiers killed in fighting) counts as one term of its factor.
        terms[event.codes[0]] += 1
        if event.field == "title":
            in_title.add(event.codes[0])
    parts = []
    for factor in result.factors:
        value = factor.weight * _diminishing(terms[factor.code])
        value *= TITLE_BONUS if factor.code in in_title else 1.0
        label = f"{factor.code} {factor.short} ({terms[factor.code]} term(s))"
        parts.append((label, round(value, 3)))
    return parts


def _indicators(result: MatchResult) -> list[Evidence]:
    """Taxonomy evidence (an event's own codes score through the event, not twice)."""
    return [e for e in result.evidence if e.kind == "indicator" and not e.term.startswith("event:")]


def _risks(result: MatchResult) -> list[Event]:
    """Risk-grade events, one per factor, for factors no taxonomy term already shows."""
    shown = {e.key for e in _indicators(result)}
    risks: dict[str, Event] = {}
    for event in result.events:
        if event.grade == "risk" and event.codes and event.codes[0] not in shown:
            risks.setdefault(event.codes[0], event)
    return list(risks.values())


def _step(severity: Severity, steps: int, *, floor: Severity = "info") -> Severity:
    index = min(max(SEVERITIES.index(severity) + steps, SEVERITIES.index(floor)), 3)
    return SEVERITIES[index]


def strongest_event(result: MatchResult, thresholds: AlertThresholds) -> Event | None:
    """The violation that sets the item's severity (most severe, then most victims)."""
    violations = [e for e in result.events if e.grade == "violation"]
    if not violations:
        return None
    return max(
        violations,
        key=lambda e: (SEVERITIES.index(_event_severity(e, thresholds)), e.count or 0),
    )


def _event_severity(event: Event, thresholds: AlertThresholds) -> Severity:
    return event.severity(
        mass_casualty=thresholds.mass_casualty,
        critical_casualties=thresholds.critical_casualties,
    )


def event_why(event: Event, result: MatchResult) -> str:
    """ "RF11 attack on civilians: 'killed 12' + 'children' (title); 12 victims"."""
    shorts = {f.code: f.short for f in result.factors}
    code = event.codes[0]
    words = [event.phrase, *event.victim_words, *event.target_words][:3]
    quoted = " + ".join(f"'{w}'" for w in dict.fromkeys(words))
    text = f"{code} {shorts.get(code, event.kind)}: {quoted} ({event.field})"
    if event.count:
        text += f"; {event.count} victim{'s' if event.count != 1 else ''}"
    if event.perpetrator:
        text += f"; by '{event.perpetrator}'"
    return text


def _severity(score: float, thresholds: AlertThresholds) -> Severity:
    if score >= thresholds.critical:
        return "critical"
    if score >= thresholds.warning:
        return "warning"
    return "watch" if score >= thresholds.watch else "info"


def _why(
    result: MatchResult, *, event: Event | None, tier: int, sources: int, novel: list[str]
) -> str:
    first: dict[str, Evidence] = {}
    for e in _indicators(result):
        first.setdefault(e.key, e)
    factors = [
        f"{f.code} {f.short} ('{first[f.code].matched}' in {first[f.code].field})"
        for f in result.factors
        if f.code in first and not (event and f.code in event.codes)
    ]
    factors += [event_why(risk, result) for risk in _risks(result)]
    if event is not None:
        factors.insert(0, event_why(event, result))
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
    event = strongest_event(result, thresholds)
    if event is not None:
        rule = _event_severity(event, thresholds)
        parts.insert(0, (f"event {event.act}: {rule}", EVENT_POINTS[rule]))
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
    severity = _decide(result, event, total, thresholds=thresholds, tier=tier, sources=sources)
    why = _why(result, event=event, tier=tier, sources=sources, novel=novel)
    return Scored(score=total, severity=severity, breakdown=tuple(parts), why=why)


def _decide(
    result: MatchResult,
    event: Event | None,
    total: float,
    *,
    thresholds: AlertThresholds,
    tier: int,
    sources: int,
) -> Severity:
    """The severity rule of the module docstring."""
    if not result.situations:
        return "info"
    if event is None:
        ceiling = SEVERITIES.index(thresholds.without_event)
        return SEVERITIES[min(SEVERITIES.index(_severity(total, thresholds)), ceiling)]
    severity = _event_severity(event, thresholds)
    if sources >= thresholds.corroboration_raise:
        severity = _step(severity, +1)
    if tier >= LOWEST_TIER:
        severity = _step(severity, -1, floor="watch")
    return severity
