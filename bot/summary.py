"""What happened in a situation over a period: one query, then pure aggregation.

Counts by risk factor (with the previous period of the same length, for a trend), the top items,
the sources and the feedback received. `/tocsin summary` renders it; briefings (`bot.briefing`)
build on it, adding `factor_history` (the weeks before, for the chart and novelty).
Periods are half-open, [start, end), on the item's publication time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.store.tables import Feed, Feedback, Item, Match

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
    """One matching report in a factor history: when, and which risk factors it carried."""

    published: datetime
    codes: tuple[str, ...]


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
    previous_start = start - (end - start)
    rows = session.exec(
        select(Match, Item, Feed.name)
        .join(Item, col(Item.id) == col(Match.item_id))
        .join(Feed, col(Feed.id) == col(Item.feed_id))
        .where(Match.situation == situation)
        .where(col(Item.published_at) >= previous_start)
        .where(col(Item.published_at) < end)
    ).all()
    feed_of = {i.id: feed for _, i, feed in rows}
    current = [(m, i) for m, i, _ in rows if i.published_at >= start]
    previous = [(m, i) for m, i, _ in rows if i.published_at < start]
    feedback = dict(
        session.exec(
            select(Feedback.relevant, func.count())
            .where(Feedback.situation == situation)
            .where(col(Feedback.created_at) >= start)
            .where(col(Feedback.created_at) < end)
            .group_by(col(Feedback.relevant))
        ).all()
    )
    names = _names(m.evidence for m, _ in current + previous)
    return Summary(
        situation=situation,
        start=start,
        end=end,
        matches=len(current),
        previous_matches=len(previous),
        factors=_factors(current, previous, names),
        top_items=_top(current, top),
        sources=tuple(
            SourceCount(source=s or "(unknown)", count=n)
            for s, n in Counter(i.source for _, i in current).most_common(TOP_SOURCES)
        ),
        severities=dict(Counter(m.severity for m, _ in current)),
        relevant=int(feedback.get(True, 0)),
        not_relevant=int(feedback.get(False, 0)),
        previous_severities=dict(Counter(m.severity for m, _ in previous)),
        outlets=tuple(
            Outlet(source=source or "(unknown)", feed=feed, language=language, count=n)
            for (source, feed, language), n in sorted(
                Counter((i.source, feed_of[i.id], i.language) for _, i in current).items(),
                key=lambda kv: (-kv[1], kv[0][0], kv[0][1], kv[0][2] or ""),
            )
        ),
        factor_names=names,
    )


def factor_history(
    session: Session, *, situation: str, start: datetime, end: datetime
) -> tuple[FactorHit, ...]:
    """Every matching report in [start, end) with its risk factors, oldest first."""
    rows = session.exec(
        select(Item.published_at, Match.indicators)
        .join(Item, col(Item.id) == col(Match.item_id))
        .where(Match.situation == situation)
        .where(col(Item.published_at) >= start)
        .where(col(Item.published_at) < end)
        .order_by(col(Item.published_at))
    ).all()
    return tuple(
        FactorHit(published=published, codes=tuple(sorted(set(codes or ()))))
        for published, codes in rows
    )


def _factors(
    current: list[tuple[Match, Item]], previous: list[tuple[Match, Item]], names: dict[str, str]
) -> tuple[FactorCount, ...]:
    now_counts = Counter(code for m, _ in current for code in set(m.indicators))
    then_counts = Counter(code for m, _ in previous for code in set(m.indicators))
    codes = sorted(now_counts.keys() | then_counts.keys(), key=lambda c: (-now_counts[c], c))
    return tuple(
        FactorCount(code=c, name=names.get(c, c), count=now_counts[c], previous=then_counts[c])
        for c in codes
    )


def _names(evidence_lists: Iterable[list[dict[str, Any]]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for evidence in evidence_lists:
        for e in evidence:
            code = e.get("key") or e.get("code")
            if code and e.get("name"):
                names.setdefault(str(code), str(e["name"]))
    return names


def _top(current: list[tuple[Match, Item]], top: int) -> tuple[TopItem, ...]:
    ranked = sorted(current, key=lambda mi: (-mi[0].score, -mi[1].published_at.timestamp()))
    return tuple(
        TopItem(
            title=i.title,
            url=i.url,
            source=i.source,
            severity=m.severity,
            score=m.score,
            published=i.published_at,
        )
        for m, i in ranked[:top]
    )
