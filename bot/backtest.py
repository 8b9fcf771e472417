"""Replay stored items against the current config: what would each situation and indicator alert?"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.alerts import severity_rank
from bot.config import Settings
from bot.matching.cluster import same_story
from bot.matching.scoring import score
from bot.matching.setup import indicator_name, matcher_from_settings
from bot.store.db import session_scope
from bot.store.tables import Feed
from bot.store.tables import Item as ItemRow
from feeds.model import Item


@dataclass(frozen=True, kw_only=True)
class SituationCount:
    slug: str
    items: int
    alerts: int
    by_severity: dict[str, int]

    @property
    def by_severity_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.by_severity.items()) or "—"


@dataclass(frozen=True, kw_only=True)
class IndicatorCount:
    code: str
    name: str
    alerts: int


@dataclass(frozen=True, kw_only=True)
class BacktestResult:
    since: datetime
    items: int
    situations: tuple[SituationCount, ...]
    indicators: tuple[IndicatorCount, ...]


def to_item(row: ItemRow, feed_name: str) -> Item:
    return Item(
        feed=feed_name,
        guid=row.guid,
        title=row.title,
        summary=row.summary,
        url=row.url,
        published=row.published_at,
        language=row.language,
        source=row.source,
        countries=tuple(row.countries),
        primary_country=row.primary_country,
        tags=tuple(row.tags),
    )


def backtest(engine: Engine, settings: Settings, *, since: datetime) -> BacktestResult:
    """Counts are of alerts at or above `[alerts] min_severity`, one per item × situation."""
    matcher = matcher_from_settings(settings)
    matched: Counter[str] = Counter()
    alerts: Counter[str] = Counter()
    severities: dict[str, Counter[str]] = defaultdict(Counter)
    indicators: Counter[str] = Counter()
    stories: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen: dict[str, set[str]] = defaultdict(set)
    floor = severity_rank(settings.alerts.min_severity)
    with session_scope(engine) as session:
        feeds = {f.id: f.name for f in session.exec(select(Feed)).all()}
        rows = session.exec(
            select(ItemRow)
            .where(col(ItemRow.published_at) >= since)
            .order_by(col(ItemRow.published_at))
        ).all()
    for row in rows:
        feed_name = feeds.get(row.feed_id, "")
        feed = settings.feed(feed_name)
        result = matcher.match(to_item(row, feed_name))
        for slug in result.situations:
            matched[slug] += 1
            codes = result.indicators
            sources = {s for t, s in stories[slug] if same_story(t, row.title)} | {row.source}
            stories[slug].append((row.title, row.source))
            scored = score(
                result,
                tier=feed.tier if feed else 2,
                corroborating_sources=len(sources),
                novel_indicators=frozenset(codes) - seen[slug],
                thresholds=settings.alerts.thresholds,
            )
            seen[slug].update(codes)
            severities[slug][scored.severity] += 1
            if severity_rank(scored.severity) >= floor:
                alerts[slug] += 1
                indicators.update(codes)
    return BacktestResult(
        since=since,
        items=len(rows),
        situations=tuple(
            SituationCount(
                slug=s.slug,
                items=matched[s.slug],
                alerts=alerts[s.slug],
                by_severity={
                    k: severities[s.slug][k] for k in sorted(severities[s.slug], key=severity_rank)
                },
            )
            for s in settings.situations
        ),
        indicators=tuple(
            IndicatorCount(code=code, name=indicator_name(matcher, code), alerts=n)
            for code, n in indicators.most_common()
        ),
    )
