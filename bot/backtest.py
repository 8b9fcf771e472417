"""Replay stored items against the current config: what would each situation and indicator alert?

The replay calls `bot.assessment.assess` over the stored items in ingestion order, with the clock
each was ingested at, from the state ingestion had at the start (rebuilt from what it stored):
the same function and state as ingestion, so that with an unchanged config it reproduces the
live decisions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine

from bot.alerts import severity_rank
from bot.assessment import Assessment, StoryBook, Subject, assess
from bot.config import Settings
from bot.matching.matcher import Matcher
from bot.matching.model import MatchResult
from bot.matching.setup import indicator_name, matcher_from_settings
from bot.store.db import session_scope
from bot.store.stories import seed_book
from bot.store.tables import Feed
from bot.store.tables import Item as ItemRow
from feeds.model import Item

DEFAULT_TIER = 2  # a feed no longer in the config
_ITEMS: Table = ItemRow.__table__  # type: ignore[attr-defined]
_FEEDS: Table = Feed.__table__  # type: ignore[attr-defined]


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


@dataclass(frozen=True, kw_only=True)
class Variant:
    """The configuration with one change, replayed beside the current one (`bot.suggest`).

    `matcher` is the changed configuration's matcher (None: the current one). A change that can
    only alter items with one of the risk factors `codes` (an exclusion or a weight for them)
    says so, and the items without them reuse the current match; with empty `codes` every
    item is matched again. Each variant keeps its own book, so stories, corroboration and
    novelty follow from its own decisions, as a live run with that configuration would."""

    settings: Settings
    matcher: Matcher | None = None
    codes: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Replayed:
    """One stored item as the current config assesses it (no assessment: it matches nothing),
    and, in `variants`, as each variant assesses it (in the order the variants were given)."""

    item_id: int
    title: str
    assessments: tuple[Assessment, ...]
    variants: tuple[tuple[Assessment, ...], ...] = ()


@dataclass
class _Run:
    """One configuration being replayed: its settings, matcher, book and source tiers."""

    settings: Settings
    matcher: Matcher | None
    codes: frozenset[str]
    book: StoryBook
    tiers: dict[str, int]

    def assess(self, row: Any, item: Item, feed_name: str, result: MatchResult) -> list[Assessment]:
        if self.matcher is not None and (not self.codes or self.codes & set(result.indicators)):
            result = self.matcher.match(item)
        if not result.situations:
            return []
        subject = Subject(
            item_id=row.id,
            key=row.title_key,
            source=row.source,
            tier=self.tiers.get(feed_name, DEFAULT_TIER),
            result=result,
            now=row.fetched_at,
        )
        return assess(self.book, [subject], settings=self.settings)


def _run(engine: Engine, variant: Variant, *, since: datetime) -> _Run:
    book = StoryBook.for_alerts(variant.settings.alerts)
    with session_scope(engine) as session:
        seed_book(session, book, since=since)
    tiers = {f.name: f.tier for f in variant.settings.feeds}
    return _Run(variant.settings, variant.matcher, variant.codes, book, tiers)


def replay(
    engine: Engine,
    settings: Settings,
    *,
    since: datetime,
    matcher: Matcher | None = None,
    variants: Sequence[Variant] = (),
) -> Iterator[Replayed]:
    """Assess the items stored since `since` in ingestion order, as ingestion did, starting
    from what ingestion knew at `since` (`seed_book`). With an unchanged config, the
    assessments equal the stored matches. Each of `variants` is replayed in the same pass."""
    matcher = matcher or matcher_from_settings(settings)
    current = _run(engine, Variant(settings=settings), since=since)
    others = [_run(engine, v, since=since) for v in variants]
    for row, feed_name in _stored(engine, since=since):
        item = _to_item(row, feed_name)
        result = matcher.match(item)
        yield Replayed(
            item_id=row.id,
            title=row.title,
            assessments=tuple(current.assess(row, item, feed_name, result)),
            variants=tuple(tuple(run.assess(row, item, feed_name, result)) for run in others),
        )


def _stored(engine: Engine, *, since: datetime) -> Iterator[Any]:
    columns = [c for c in _ITEMS.c if c.name not in ("cluster_id", "feed_id")]
    query = (
        select(*columns, _FEEDS.c.name.label("feed_name"))
        .join(_FEEDS, _FEEDS.c.id == _ITEMS.c.feed_id)
        .where(_ITEMS.c.fetched_at >= since)
        .order_by(_ITEMS.c.id)
    )
    with session_scope(engine) as session:
        for row in session.execute(query.execution_options(yield_per=2000)):
            yield row, row.feed_name


def _to_item(row: Any, feed_name: str) -> Item:
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


def backtest(
    engine: Engine, settings: Settings, *, since: datetime, matcher: Matcher | None = None
) -> BacktestResult:
    """Counts are of alerts at or above `[alerts] min_severity`, one per item × situation."""
    matcher = matcher or matcher_from_settings(settings)
    matched: Counter[str] = Counter()
    alerts: Counter[str] = Counter()
    severities: dict[str, Counter[str]] = defaultdict(Counter)
    indicators: Counter[str] = Counter()
    items = 0
    for replayed in replay(engine, settings, since=since, matcher=matcher):
        items += 1
        for a in replayed.assessments:
            matched[a.situation] += 1
            severities[a.situation][a.severity] += 1
            if a.alerting:
                alerts[a.situation] += 1
                indicators.update(a.indicators)
    return BacktestResult(
        since=since,
        items=items,
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
