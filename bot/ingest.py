"""Store new items, match them, and queue their alerts — all in the caller's transaction.

An item's matches and the alerts they cause are written in the same transaction as the item, so a
crash either keeps all three or none, and the unique keys (feed + guid, item + situation,
subscription + item) make a replay harmless. Rows are inserted in bulk (one statement per table
per feed), which keeps a poll of thousands of items fast on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlmodel import Session, col, select

from bot.alerts import decide_alerts
from bot.config import FeedSettings, Settings
from bot.matching.cluster import same_story_keys, title_key
from bot.matching.events import event_record
from bot.matching.language import item_language
from bot.matching.matcher import Matcher
from bot.matching.model import Evidence, MatchResult
from bot.matching.scoring import score
from bot.matching.setup import indicator_name
from bot.store.tables import Item as ItemRow
from bot.store.tables import Match, MessageKind, MessageState, OutboxMessage, Subscription
from feeds.model import Item

log = logging.getLogger(__name__)
# Core tables: bulk statements without the ORM's per-row bookkeeping
_ITEMS: Table = ItemRow.__table__  # type: ignore[attr-defined]
_MATCHES: Table = Match.__table__  # type: ignore[attr-defined]
_ALERTS: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class WriteStats:
    new_items: int = 0
    matches: int = 0
    alerts: int = 0


@dataclass
class _StoryRef:
    item_id: int
    cluster_id: int
    key: str
    source: str


class ItemWriter:
    """Per-cycle caches (recent stories, recent indicators) make clustering and novelty cheap."""

    def __init__(self, *, settings: Settings, matcher: Matcher) -> None:
        self.settings = settings
        self.matcher = matcher
        self._stories: dict[str, list[_StoryRef]] = {}
        self._sources: dict[tuple[str, int], set[str]] = {}
        self._seen_indicators: dict[str, set[str]] = {}

    def start_cycle(self) -> None:
        self._stories.clear()
        self._sources.clear()
        self._seen_indicators.clear()

    def write(
        self,
        session: Session,
        *,
        feed: FeedSettings,
        feed_id: int,
        items: list[Item],
        now: datetime,
    ) -> WriteStats:
        fresh = self._fresh(session, feed_id=feed_id, items=items)
        if not fresh:
            return WriteStats()
        fresh = [with_language(item) for item in fresh]
        ids = session.execute(
            insert(_ITEMS).returning(_ITEMS.c.id, sort_by_parameter_order=True),
            [_item_values(item, feed_id=feed_id, now=now) for item in fresh],
        ).scalars()
        matched = []
        for item_id, item in zip(ids, fresh, strict=True):
            result = self.matcher.match(item)
            if result.situations:
                matched.append((item_id, item, result))
        if not matched:
            return WriteStats(new_items=len(fresh))
        subscriptions = list(session.exec(select(Subscription).where(Subscription.active)).all())
        match_rows: list[dict[str, Any]] = []
        published: list[datetime] = []
        clusters: dict[int, int] = {}
        for item_id, item, result in matched:
            for situation in result.situations:
                cluster = self._cluster(session, situation, item_id=item_id, item=item, now=now)
                clusters.setdefault(item_id, cluster)
                match_rows.append(
                    self._match_values(
                        session,
                        item_id=item_id,
                        item=item,
                        feed=feed,
                        result=result,
                        situation=situation,
                        cluster=cluster,
                        now=now,
                    )
                )
                published.append(item.published)
        session.execute(
            update(_ITEMS)
            .where(_ITEMS.c.id == bindparam("item"))
            .values(cluster_id=bindparam("cluster")),
            [{"item": i, "cluster": c} for i, c in clusters.items()],
        )
        match_ids = session.execute(
            insert(_MATCHES).returning(_MATCHES.c.id, sort_by_parameter_order=True), match_rows
        ).scalars()
        alerts = self._queue(
            session, match_rows, list(match_ids), published, subscriptions, now=now
        )
        return WriteStats(new_items=len(fresh), matches=len(match_rows), alerts=alerts)

    def _fresh(self, session: Session, *, feed_id: int, items: list[Item]) -> list[Item]:
        if not items:
            return []
        guids = [i.guid for i in items]
        known = set(
            session.exec(
                select(ItemRow.guid)
                .where(ItemRow.feed_id == feed_id)
                .where(col(ItemRow.guid).in_(guids))
            ).all()
        )
        return [i for i in items if i.guid not in known]

    def _match_values(
        self,
        session: Session,
        *,
        item_id: int,
        item: Item,
        feed: FeedSettings,
        result: MatchResult,
        situation: str,
        cluster: int,
        now: datetime,
    ) -> dict[str, Any]:
        sources = self._sources[(situation, cluster)]
        indicators = result.indicators
        seen = self._recent_indicators(session, situation=situation, now=now)
        scored = score(
            result,
            tier=feed.tier,
            corroborating_sources=len(sources),
            novel_indicators=frozenset(indicators) - seen,
            thresholds=self.settings.alerts.thresholds,
        )
        seen.update(indicators)
        return {
            "item_id": item_id,
            "situation": situation,
            "indicators": list(indicators),
            "evidence": [
                _evidence_json(e, self.matcher)
                for e in result.evidence
                if e.kind == "indicator" or e.key == situation
            ]
            + [
                event_record(
                    e,
                    mass_casualty=self.settings.alerts.thresholds.mass_casualty,
                    critical_casualties=self.settings.alerts.thresholds.critical_casualties,
                )
                for e in result.events
            ],
            "breakdown": [list(pair) for pair in scored.breakdown],
            "score": scored.score,
            "severity": scored.severity,
            "why": scored.why,
            "created_at": now,
        }

    def _queue(
        self,
        session: Session,
        match_rows: list[dict[str, Any]],
        match_ids: list[int],
        published: list[datetime],
        subscriptions: list[Subscription],
        *,
        now: datetime,
    ) -> int:
        alert_rows = []
        for match, match_id, when in zip(match_rows, match_ids, published, strict=True):
            for d in decide_alerts(
                situation=match["situation"],
                severity=match["severity"],
                published=when,
                now=now,
                subscriptions=subscriptions,
                settings=self.settings,
            ):
                alert_rows.append(
                    {
                        "subscription_id": d.subscription_id,
                        "item_id": match["item_id"],
                        "match_id": match_id,
                        "channel": d.channel,
                        "situation": match["situation"],
                        "severity": match["severity"],
                        "kind": MessageKind.ALERT,
                        "state": MessageState.QUEUED,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        if alert_rows:
            session.execute(insert(_ALERTS), alert_rows)
        return len(alert_rows)

    def _cluster(
        self, session: Session, situation: str, *, item_id: int, item: Item, now: datetime
    ) -> int:
        """Attach the item to an earlier story of the same situation, or start a new one."""
        stories = self._stories.get(situation)
        if stories is None:
            stories = self._stories[situation] = self._load_stories(session, situation, now)
            for story in stories:
                self._sources.setdefault((situation, story.cluster_id), set()).add(story.source)
        key = title_key(item.title)
        cluster = next(
            (s.cluster_id for s in reversed(stories) if same_story_keys(s.key, key)), item_id
        )
        stories.append(_StoryRef(item_id=item_id, cluster_id=cluster, key=key, source=item.source))
        self._sources.setdefault((situation, cluster), set()).add(item.source)
        return cluster

    def _load_stories(self, session: Session, situation: str, now: datetime) -> list[_StoryRef]:
        since = now - self.settings.alerts.cluster_window
        rows = session.exec(
            select(
                col(ItemRow.id),
                col(ItemRow.cluster_id),
                col(ItemRow.title_key),
                col(ItemRow.source),
            )
            .join(Match, col(Match.item_id) == col(ItemRow.id))
            .where(Match.situation == situation)
            .where(col(Match.created_at) >= since)
            .order_by(col(ItemRow.id))
        ).all()
        return [
            _StoryRef(item_id=i, cluster_id=c or i, key=k, source=s)
            for i, c, k, s in rows
            if i is not None
        ]

    def _recent_indicators(self, session: Session, *, situation: str, now: datetime) -> set[str]:
        seen = self._seen_indicators.get(situation)
        if seen is None:
            since = now - self.settings.alerts.novelty_window
            rows = session.exec(
                select(Match.indicators)
                .where(Match.situation == situation)
                .where(col(Match.created_at) >= since)
            ).all()
            seen = self._seen_indicators[situation] = {code for codes in rows for code in codes}
        return seen


def with_language(item: Item) -> Item:
    """The item with the language its terms are chosen by: the feed's when the text is in its
    script, else detected (bot/matching/language.py); stored, it also feeds the briefings'
    language diversity."""
    language = item_language(item.language, item.title, item.summary)
    return item if language == item.language else replace(item, language=language)


def _item_values(item: Item, *, feed_id: int, now: datetime) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "guid": item.guid,
        "title": item.title,
        "summary": item.summary,
        "url": item.url,
        "source": item.source[:255],
        "language": item.language,
        "countries": list(item.countries),
        "primary_country": item.primary_country,
        "tags": list(item.tags),
        "title_key": title_key(item.title),
        "published_at": item.published,
        "fetched_at": now,
    }


def _evidence_json(e: Evidence, matcher: Matcher) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": e.kind,
        "key": e.key,
        "term": e.term,
        "matched": e.matched,
        "field": e.field,
        "start": e.start,
        "end": e.end,
        "language": e.language,
    }
    if e.kind == "indicator":
        data["name"] = indicator_name(matcher, e.key)
    return data
