"""What happened in a situation over a period: aggregate queries, one index range each.

Counts by risk factor (with the previous period of the same length, for a trend), the top items,
the sources and the feedback received. `/tocsin summary` renders it; briefings (`bot.briefing`)
build on it, adding `factor_history` (the weeks before, for the chart and novelty).
Periods are half-open, [start, end), on the item's publication time (`match.published_at`, a
copy of the item's, indexed with the situation), and the database does the counting, so a
period costs the same whether the situation has a thousand stored reports or a million.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlmodel import Session, col

from bot.precision import vote_counts
from bot.store.tables import Feed, Item, Match

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
    """`count` matching reports with the same risk factors, the latest published at `published`
    (see `factor_history`)."""

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
    samples: list[int] = []
    for is_current, period_start, period_end in (
        (True, start, end),
        (False, previous_start, start),
    ):
        groups = session.execute(
            _in_period(
                select(col(Match.severity), _codes(), func.count(), func.min(col(Match.id))),
                situation,
                period_start,
                period_end,
            ).group_by(col(Match.severity), _codes())
        ).all()
        for severity, codes, n, sample in groups:
            severities[is_current][severity] += n
            factors[is_current].update(dict.fromkeys(set(json.loads(codes or "[]")), n))
            samples.append(sample)
    names = _names(session, samples)
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
    """The matching reports in [start, end), grouped by risk factors within each interval that
    `boundaries` cut [start, end) into: one `FactorHit` per group, oldest first."""
    cuts = sorted({start, end, *(b for b in boundaries if start < b < end)})
    hits = []
    for cut_start, cut_end in pairwise(cuts):  # one index range each
        rows = session.execute(
            _in_period(
                select(_codes(), func.count(), func.max(col(Match.published_at))),
                situation,
                cut_start,
                cut_end,
            ).group_by(_codes())
        ).all()
        hits += [
            FactorHit(published=last, codes=tuple(sorted(set(json.loads(c or "[]")))), count=n)
            for c, n, last in rows
        ]
    return tuple(sorted(hits, key=lambda h: (h.published, h.codes)))


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
    keys = (col(Item.source), col(Feed.name), col(Item.language))
    rows = session.execute(
        _in_period(
            select(*keys, func.count())
            .select_from(Match)
            .join(Item, col(Item.id) == col(Match.item_id))
            .join(Feed, col(Feed.id) == col(Item.feed_id)),
            situation,
            start,
            end,
        ).group_by(*keys)
    ).all()
    outlets = [
        Outlet(source=source or "(unknown)", feed=feed, language=language, count=n)
        for source, feed, language, n in rows
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
