"""Replay stored items against the current config: what would each situation and indicator alert?

The replay calls `bot.assessment.assess` over the stored items in ingestion order, with the clock
each was ingested at, from the state ingestion had at the start (rebuilt from what it stored):
the same function and state as ingestion, so that with an unchanged config it reproduces the
live decisions. Configuration variants (`Variant`: other terms, weights or tiers) can ride along
in the same pass, each decided by the same `decide` with its own novelty (`bot.suggest`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine

from bot.alerts import severity_rank
from bot.assessment import Assessment, StoryBook, Subject, assess, decide
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

    A variant may change risk-factor terms, weights and source tiers, never which situations an
    item concerns: so each item joins the same story with the same sources as under the current
    configuration, and the variant keeps only its own novelty (risk factors seen) and makes its
    own decision with `bot.assessment.decide`, as `assess` does. `matcher` is the changed
    configuration's matcher (None: the current one); a change that can only alter items with
    one of the risk factors `codes` says so, and the other items reuse the current match.
    A change of weights alone needs no matcher: `weights` are put into the current match's
    factors (the only place scoring reads a weight from)."""

    settings: Settings
    matcher: Matcher | None = None
    codes: frozenset[str] = frozenset()
    weights: Mapping[str, float] = field(default_factory=dict)


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
    """One variant being replayed: its settings, matcher, novelty and source tiers.

    Where the variant's match, tier, policy and novelty are the current configuration's, its
    decision is too, and the current one is reused (most items, for a small change)."""

    variant: Variant
    book: StoryBook  # only its risk factors seen (`novel`) are used
    tiers: dict[str, int]
    same_policy: bool  # the variant's [alerts] settings are the current ones

    def assess(
        self, row: Any, item: Item, current: Sequence[Assessment], *, result: MatchResult, tier: int
    ) -> tuple[Assessment, ...]:
        """The variant's decisions for the situations the current configuration assessed
        (`result` and `tier`: the current configuration's)."""
        v = self.variant
        mine = result
        if v.matcher is not None and (not v.codes or v.codes & set(result.indicators)):
            mine = v.matcher.match(item)
        if v.weights and v.weights.keys() & set(mine.indicators):
            mine = reweigh(mine, v.weights)
        my_tier = self.tiers.get(item.feed, DEFAULT_TIER)
        same = self.same_policy and mine is result and my_tier == tier
        out = []
        for a in current:
            if a.situation not in mine.situations:
                continue
            novel = self.book.novel(a.situation, mine.indicators, now=row.fetched_at)
            if same and novel == a.novel:
                out.append(a)
                continue
            subject = _subject(row, item, mine, tier=my_tier)
            out.append(
                decide(
                    subject,
                    situation=a.situation,
                    story=a.story,
                    sources=a.sources,
                    novel=novel,
                    settings=v.settings,
                )
            )
        return tuple(out)


def reweigh(result: MatchResult, weights: Mapping[str, float]) -> MatchResult:
    """`result` as the same matcher with other risk-factor `weights` would have returned it."""
    factors = tuple(
        replace(f, weight=weights[f.code]) if f.code in weights else f for f in result.factors
    )
    return replace(result, factors=factors)


def _subject(row: Any, item: Item, result: MatchResult, *, tier: int) -> Subject:
    return Subject(
        item_id=row.id,
        key=row.title_key,
        source=row.source,
        tier=tier,
        result=result,
        now=row.fetched_at,
    )


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
    book = StoryBook.for_alerts(settings.alerts)
    with session_scope(engine) as session:
        seed_book(session, book, since=since)
    tiers = {f.name: f.tier for f in settings.feeds}
    runs = [
        _Run(
            variant=v,
            book=replace(StoryBook.for_alerts(v.settings.alerts), seen=dict(book.seen)),
            tiers={f.name: f.tier for f in v.settings.feeds},
            same_policy=v.settings.alerts == settings.alerts,
        )
        for v in variants
    ]
    for row, feed_name in _stored(engine, since=since):
        item = _to_item(row, feed_name)
        result = matcher.match(item)
        assessed: list[Assessment] = []
        tier = tiers.get(feed_name, DEFAULT_TIER)
        if result.situations:
            assessed = assess(book, [_subject(row, item, result, tier=tier)], settings=settings)
        yield Replayed(
            item_id=row.id,
            title=row.title,
            assessments=tuple(assessed),
            variants=tuple(
                run.assess(row, item, assessed, result=result, tier=tier) for run in runs
            ),
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
