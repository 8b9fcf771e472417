"""What happened in a situation over a period: aggregate queries, one index range each.

Counts by risk factor (with the previous period of the same length, for a trend), the top items,
the sources and the feedback received. `/tocsin summary` renders it; briefings (`bot.briefing`)
build on it, adding `factor_history` (the weeks before, for the chart and novelty).
Periods are half-open, [start, end), on the item's publication time (`match.published_at`, a
copy of the item's, indexed with the situation). Counts come from the per-day tables the
database keeps (`match_count`, `outlet_count`: a row per situation, UTC day and group) for the
whole UTC days of a period, and from `match` itself only for the partial days at its ends, so a
30-day period reads about 30 rows per risk factor, not every report of the 30 days; the top
items are one index range of `match`. A period costs about the same whether the situation has a
thousand stored reports or a million.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlmodel import Session, col

from bot.precision import vote_counts
from bot.store.tables import Feed, Item, Match, MatchCount, OutletCount

TOP_ITEMS = 5
TOP_SOURCES = 8


@dataclass(frozen=True, kw_only=True)
class FactorCount:
    code: str
    name: str
    count: int
    previous: int

    @property
    def trend(self) -> str:
        if self.previous == 0:
            return "new" if self.count else "flat"
        if self.count > self.previous:
            return "up"
        return "down" if self.count < self.previous else "flat"


@dataclass(frozen=True, kw_only=True)
class TopItem:
    title: str
    url: str | None
    source: str
    severity: str
    score: float
    published: datetime


@dataclass(frozen=True, kw_only=True)
class SourceCount:
    source: str
    count: int


@dataclass(frozen=True, kw_only=True)
class Outlet:
    """One source as it reached us: the outlet, the configured feed, the item language."""

    source: str
    feed: str
    language: str | None
    count: int


@dataclass(frozen=True, kw_only=True)
class FactorHit:
    """`count` matching reports with the risk factors `codes`, the latest published at
    `published` (`factor_history` gives one per factor and interval)."""

    published: datetime
    codes: tuple[str, ...]
    count: int = 1


@dataclass(frozen=True, kw_only=True)
class Summary:
    situation: str
    start: datetime
    end: datetime
    matches: int
    previous_matches: int
    factors: tuple[FactorCount, ...]
    top_items: tuple[TopItem, ...]
    sources: tuple[SourceCount, ...]
    severities: dict[str, int]
    relevant: int
    not_relevant: int
    previous_severities: dict[str, int] = field(default_factory=dict)
    outlets: tuple[Outlet, ...] = ()
    factor_names: dict[str, str] = field(default_factory=dict)


def situation_summary(
    session: Session, *, situation: str, start: datetime, end: datetime, top: int = TOP_ITEMS
) -> Summary:
    """A few aggregate queries over one index range (match: situation, published_at)."""
    previous_start = start - (end - start)
    severities: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
    factors: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
    samples: dict[str, int] = {}  # risk factor → the first report counted with it
    for is_current, period_start, period_end in (
        (True, start, end),
        (False, previous_start, start),
    ):
        first, stop, edges = _days(period_start, period_end)
        if first < stop:
            keys = (col(MatchCount.severity), col(MatchCount.code))
            for severity, code, n, sample, _ in _per_day(session, situation, first, stop, keys):
                if code:
                    factors[is_current][code] += n
                    samples[code] = min(sample, samples.get(code, sample))
                else:
                    severities[is_current][severity] += n
        for edge_start, edge_end in edges:
            groups = session.execute(
                _in_period(
                    select(col(Match.severity), _codes(), func.count(), func.min(col(Match.id))),
                    situation,
                    edge_start,
                    edge_end,
                ).group_by(col(Match.severity), _codes())
            ).all()
            for severity, codes, n, sample in groups:
                severities[is_current][severity] += n
                factors[is_current].update(dict.fromkeys(_code_set(codes), n))
                for code in _code_set(codes):
                    samples[code] = min(sample, samples.get(code, sample))
    names = _names(session, samples.values())
    outlets = _outlets(session, situation=situation, start=start, end=end)
    relevant, not_relevant = vote_counts(session, situation=situation, since=start, until=end)
    sources: Counter[str] = Counter()
    for o in outlets:
        sources[o.source] += o.count
    return Summary(
        situation=situation,
        start=start,
        end=end,
        matches=sum(severities[True].values()),
        previous_matches=sum(severities[False].values()),
        factors=_factors(factors[True], factors[False], names),
        top_items=_top(session, situation=situation, start=start, end=end, top=top),
        sources=tuple(
            SourceCount(source=s, count=n)
            for s, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]
        ),
        severities=dict(severities[True]),
        relevant=relevant,
        not_relevant=not_relevant,
        previous_severities=dict(severities[False]),
        outlets=outlets,
        factor_names=names,
    )


def factor_history(
    session: Session,
    *,
    situation: str,
    start: datetime,
    end: datetime,
    boundaries: Iterable[datetime] = (),
) -> tuple[FactorHit, ...]:
    """The matching reports in [start, end) by risk factor within each interval that
    `boundaries` cut [start, end) into, oldest first: one `FactorHit` per factor and interval,
    counted from `match_count` for the interval's whole UTC days and from `match` for its partial
    ones; `published` is the latest report counted, inside the interval."""
    cuts = sorted({start, end, *(b for b in boundaries if start < b < end)})
    hits = []
    for cut_start, cut_end in pairwise(cuts):
        found: list[tuple[str, int, datetime]] = []  # (factor, reports, latest)
        first, stop, edges = _days(cut_start, cut_end)
        if first < stop:
            counted = _per_day(session, situation, first, stop, (col(MatchCount.code),))
            found += [(code, n, last) for code, n, _, last in counted if code]
        for edge_start, edge_end in edges:  # one index range each
            rows = session.execute(
                _in_period(
                    select(_codes(), func.count(), func.max(col(Match.published_at))),
                    situation,
                    edge_start,
                    edge_end,
                ).group_by(_codes())
            ).all()
            found += [(code, n, last) for codes, n, last in rows for code in _code_set(codes)]
        counts: Counter[str] = Counter()
        latest: dict[str, datetime] = {}
        for code, n, last in found:
            counts[code] += n
            latest[code] = max(last, latest.get(code, last))
        hits += [FactorHit(published=latest[c], codes=(c,), count=n) for c, n in counts.items()]
    return tuple(sorted(hits, key=lambda h: (h.published, h.codes)))


@lru_cache(maxsize=4096)
def _code_set(codes: str | None) -> tuple[str, ...]:
    """A match's risk factors stored as JSON text: distinct and sorted (parsed once per text: a
    period's groups repeat the same few lists)."""
    return tuple(sorted(set(json.loads(codes or "[]"))))


def _days(start: datetime, end: datetime) -> tuple[date, date, list[tuple[datetime, datetime]]]:
    """The whole UTC days of [start, end), as [first, stop), and the partial days at its ends,
    as datetime ranges (all of it when it holds no whole day)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = start.date() if start == _midnight(start.date()) else start.date() + timedelta(days=1)
    stop = end.date()
    if first >= stop:
        return first, first, [(start, end)] if start < end else []
    ends = ((start, _midnight(first)), (_midnight(stop), end))
    return first, stop, [(a, b) for a, b in ends if a < b]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _per_day(
    session: Session, situation: str, first: date, stop: date, keys: tuple[Any, ...]
) -> list[Any]:
    """`match_count` over the whole days [first, stop), grouped by `keys`: each group's keys,
    reports, first report (its id) and latest report (its time)."""
    sums = (
        func.sum(col(MatchCount.n)),
        func.min(col(MatchCount.first_id)),
        func.max(col(MatchCount.last_at)),
    )
    query = _on_days(select(*keys, *sums), MatchCount, situation, first, stop)
    return list(session.execute(query.group_by(*keys)).all())


def _on_days(query: Any, table: Any, situation: str, first: date, stop: date) -> Any:
    return (
        query.where(col(table.situation) == situation)
        .where(col(table.day) >= first)
        .where(col(table.day) < stop)
    )


def _in_period(query: Any, situation: str, start: datetime, end: datetime) -> Any:
    return (
        query.where(col(Match.situation) == situation)
        .where(col(Match.published_at) >= start)
        .where(col(Match.published_at) < end)
    )


def _codes() -> Any:
    """A match's risk factors as text (a JSON list), so that equal lists group together."""
    return cast(Match.indicators, Text)


def _outlets(
    session: Session, *, situation: str, start: datetime, end: datetime
) -> tuple[Outlet, ...]:
    counts: Counter[tuple[str, str, str | None]] = Counter()
    first, stop, edges = _days(start, end)
    if first < stop:
        per_day = (col(OutletCount.source), col(Feed.name), col(OutletCount.language))
        counted = session.execute(
            _on_days(
                select(*per_day, func.sum(col(OutletCount.n)))
                .select_from(OutletCount)
                .join(Feed, col(Feed.id) == col(OutletCount.feed_id)),
                OutletCount,
                situation,
                first,
                stop,
            ).group_by(*per_day)
        ).all()
        for source, feed, language, n in counted:
            counts[(source, feed, language or None)] += n
    for edge_start, edge_end in edges:
        keys = (col(Item.source), col(Feed.name), col(Item.language))
        rows = session.execute(
            _in_period(
                select(*keys, func.count())
                .select_from(Match)
                .join(Item, col(Item.id) == col(Match.item_id))
                .join(Feed, col(Feed.id) == col(Item.feed_id)),
                situation,
                edge_start,
                edge_end,
            ).group_by(*keys)
        ).all()
        for source, feed, language, n in rows:
            counts[(source or "", feed, language or None)] += n
    outlets = [
        Outlet(source=source or "(unknown)", feed=feed, language=language, count=n)
        for (source, feed, language), n in counts.items()
    ]
    return tuple(sorted(outlets, key=lambda o: (-o.count, o.source, o.feed, o.language or "")))


def _factors(
    now_counts: Counter[str], then_counts: Counter[str], names: dict[str, str]
) -> tuple[FactorCount, ...]:
    codes = sorted(now_counts.keys() | then_counts.keys(), key=lambda c: (-now_counts[c], c))
    return tuple(
        FactorCount(code=c, name=names.get(c, c), count=now_counts[c], previous=then_counts[c])
        for c in codes
    )


def _names(session: Session, sample_ids: Iterable[int | None]) -> dict[str, str]:
    """Risk factor names, from the evidence of one sample match per group."""
    ids = sorted({i for i in sample_ids if i is not None})
    names: dict[str, str] = {}
    if not ids:
        return names
    for (evidence,) in session.execute(select(col(Match.evidence)).where(col(Match.id).in_(ids))):
        for e in evidence:
            code = e.get("key") or e.get("code")
            if code and e.get("name"):
                names.setdefault(str(code), str(e["name"]))
    return names


def _top(
    session: Session, *, situation: str, start: datetime, end: datetime, top: int
) -> tuple[TopItem, ...]:
    rows = session.execute(
        _in_period(
            select(
                *(col(c) for c in (Match.severity, Match.score, Item.title, Item.url)),
                col(Item.source),
                col(Item.published_at),
            )
            .select_from(Match)
            .join(Item, col(Item.id) == col(Match.item_id)),
            situation,
            start,
            end,
        )
        .order_by(col(Match.score).desc(), col(Match.published_at).desc(), col(Match.id))
        .limit(top)
    ).all()
    return tuple(
        TopItem(
            title=title,
            url=url,
            source=source,
            severity=severity,
            score=score,
            published=published,
        )
        for severity, score, title, url, source, published in rows
    )
