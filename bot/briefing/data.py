"""Briefing data for a situation and a period: `situation_summary` plus history and diversity,
and the precision of the rules from the period's votes (`bot.precision`).

One loader does the I/O (`load_briefing`: aggregate queries through `bot.summary`); everything else
here is pure and tested on plain values: weekly buckets for the chart, risk factors that fired
for the first time in N weeks, and source diversity (outlets, regions, languages).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.access import is_restricted
from bot.briefing.schedule import Period
from bot.briefing.trend import Trend, decide_trend
from bot.charts import Week
from bot.config import FeedSettings, Settings, SituationSettings
from bot.precision import PrecisionReport, RuleStat, load_votes, precision_report
from bot.summary import FactorCount, FactorHit, Outlet, Summary, factor_history, situation_summary

WEEK = timedelta(days=7)
UNKNOWN = "unknown"
LOW_PRECISION = 3  # rules of low precision a briefing names


@dataclass(frozen=True, kw_only=True)
class Diversity:
    outlets: int
    feeds: int
    regions: tuple[tuple[str, int], ...]
    languages: tuple[tuple[str, int], ...]
    top_source: str | None
    top_share: float


@dataclass(frozen=True, kw_only=True)
class BriefingData:
    situation: SituationSettings
    period: Period
    summary: Summary
    trend: Trend
    novel: tuple[FactorCount, ...]
    novelty_weeks: int
    weeks: tuple[Week, ...]
    diversity: Diversity
    feedback: PrecisionReport  # votes cast in the period (`tocsin feedback report`'s figures)
    low_precision: tuple[RuleStat, ...] = ()  # its worst rules with enough votes

    @property
    def restricted(self) -> bool:
        return is_restricted(self.situation)

    def factor_name(self, code: str) -> str:
        return self.summary.factor_names.get(code, code)


def weekly_counts(hits: Sequence[FactorHit], *, end: datetime, weeks: int) -> tuple[Week, ...]:
    """`weeks` consecutive 7-day buckets [start, start + 7 days) ending at `end`, oldest first."""
    starts = week_starts(end=end, weeks=weeks)
    buckets: list[Counter[str]] = [Counter() for _ in starts]
    for hit in hits:
        index = bisect_right(starts, hit.published) - 1
        if 0 <= index < weeks and hit.published < end:
            buckets[index].update(dict.fromkeys(hit.codes, hit.count))
    return tuple(
        Week(start=s, counts=dict(sorted(c.items()))) for s, c in zip(starts, buckets, strict=True)
    )


def week_starts(*, end: datetime, weeks: int) -> list[datetime]:
    return [end - WEEK * (weeks - k) for k in range(weeks)]


def novel_factors(
    factors: Sequence[FactorCount], hits: Sequence[FactorHit], *, start: datetime, weeks: int
) -> tuple[FactorCount, ...]:
    """Factors seen this period and not once in the `weeks` weeks before `start`."""
    since = start - WEEK * weeks
    seen = {code for h in hits if since <= h.published < start for code in h.codes}
    return tuple(f for f in factors if f.count and f.code not in seen)


def source_diversity(outlets: Sequence[Outlet], feeds: Sequence[FeedSettings]) -> Diversity:
    """Distinct outlets and feeds, and the reports per region and language (feed config fills in
    what an item does not say), and how much the single largest outlet weighs."""
    by_name = {f.name: f for f in feeds}
    regions: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for o in outlets:
        feed = by_name.get(o.feed)
        regions[(feed.region if feed else None) or UNKNOWN] += o.count
        languages[o.language or (feed.language if feed else None) or UNKNOWN] += o.count
        sources[o.source] += o.count
    total = sum(sources.values())
    top = sources.most_common(1)
    return Diversity(
        outlets=len(sources),
        feeds=len({o.feed for o in outlets}),
        regions=_ranked(regions),
        languages=_ranked(languages),
        top_source=top[0][0] if top else None,
        top_share=top[0][1] / total if top else 0.0,
    )


def _ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def load_briefing(
    session: Session, *, settings: Settings, situation: SituationSettings, period: Period
) -> BriefingData:
    """Everything a briefing shows for `situation` over `period`. The factor history comes
    grouped by the chart's weeks and the novelty span, so it stays small over any history."""
    cfg = settings.briefings
    summary = situation_summary(
        session, situation=situation.slug, start=period.start, end=period.end, top=cfg.top_items
    )
    history_start = min(
        period.end - WEEK * cfg.chart_weeks, period.start - WEEK * cfg.novelty_weeks
    )
    since_novel = period.start - WEEK * cfg.novelty_weeks
    hits = factor_history(
        session,
        situation=situation.slug,
        start=history_start,
        end=period.end,
        boundaries=[*week_starts(end=period.end, weeks=cfg.chart_weeks), since_novel, period.start],
    )
    votes = load_votes(session, since=period.start, until=period.end, situation=situation.slug)
    feedback = precision_report(
        votes, min_votes=settings.feedback.min_votes, since=period.start, until=period.end
    )
    return BriefingData(
        situation=situation,
        period=period,
        summary=summary,
        trend=decide_trend(current=summary.severities, previous=summary.previous_severities),
        novel=novel_factors(summary.factors, hits, start=period.start, weeks=cfg.novelty_weeks),
        novelty_weeks=cfg.novelty_weeks,
        weeks=weekly_counts(hits, end=period.end, weeks=cfg.chart_weeks),
        diversity=source_diversity(summary.outlets, settings.feeds),
        feedback=feedback,
        low_precision=feedback.flagged(below=settings.feedback.suggest_below, limit=LOW_PRECISION),
    )
