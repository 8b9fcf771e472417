"""Store new items, match them, and queue their alerts — all in the caller's transaction.

An item's matches and the alerts they cause are written in the same transaction as the item, so a
crash either keeps all three or none, and the unique keys (feed + guid, item + situation,
subscription + item) make a replay harmless.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.alerts import decide_alerts, hourly_counts
from bot.config import FeedSettings, Settings
from bot.matching.cluster import same_story, title_key
from bot.matching.matcher import Matcher
from bot.matching.model import MatchResult
from bot.matching.scoring import Scored, score
from bot.matching.setup import indicator_name
from bot.store.tables import Alert, Match, Subscription
from bot.store.tables import Item as ItemRow
from feeds.model import Item

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class WriteStats:
    new_items: int = 0
    matches: int = 0
    alerts: int = 0


@dataclass
class _StoryRef:
    item_id: int
    cluster_id: int
    title: str
    source: str


class ItemWriter:
    """Per-cycle caches (recent stories, recent indicators) make clustering and novelty cheap."""

    def __init__(self, *, settings: Settings, matcher: Matcher) -> None:
        self.settings = settings
        self.matcher = matcher
        self._stories: dict[str, list[_StoryRef]] = {}
        self._seen_indicators: dict[str, set[str]] = {}
        self._channel_counts: dict[str, int] | None = None

    def start_cycle(self) -> None:
        self._stories.clear()
        self._seen_indicators.clear()
        self._channel_counts = None

    def write(
        self,
        session: Session,
        *,
        feed: FeedSettings,
        feed_id: int,
        items: list[Item],
        now: datetime,
    ) -> WriteStats:
        if not items:
            return WriteStats()
        guids = [i.guid for i in items]
        known = set(
            session.exec(
                select(ItemRow.guid)
                .where(ItemRow.feed_id == feed_id)
                .where(col(ItemRow.guid).in_(guids))
            ).all()
        )
        fresh = [i for i in items if i.guid not in known]
        subscriptions = list(session.exec(select(Subscription).where(Subscription.active)).all())
        matches = alerts = 0
        for item in fresh:
            row = _item_row(item, feed_id=feed_id)
            session.add(row)
            session.flush()
            result = self.matcher.match(item)
            for situation in result.situations:
                m, a = self._match_and_queue(
                    session,
                    row=row,
                    item=item,
                    feed=feed,
                    result=result,
                    situation=situation,
                    subscriptions=subscriptions,
                    now=now,
                )
                matches += m
                alerts += a
        return WriteStats(new_items=len(fresh), matches=matches, alerts=alerts)

    def _match_and_queue(
        self,
        session: Session,
        *,
        row: ItemRow,
        item: Item,
        feed: FeedSettings,
        result: MatchResult,
        situation: str,
        subscriptions: list[Subscription],
        now: datetime,
    ) -> tuple[int, int]:
        assert row.id is not None
        story = self._cluster(session, situation=situation, row=row, now=now)
        sources = {s.source for s in self._stories[situation] if s.cluster_id == story}
        indicators = result.indicators
        seen = self._recent_indicators(session, situation=situation, now=now)
        scored: Scored = score(
            result,
            tier=feed.tier,
            corroborating_sources=len(sources),
            novel_indicators=frozenset(indicators) - seen,
            thresholds=self.settings.alerts.thresholds,
        )
        seen.update(indicators)
        match = Match(
            item_id=row.id,
            situation=situation,
            indicators=list(indicators),
            evidence=[
                _evidence_json(e, self.matcher)
                for e in result.evidence
                if e.kind == "indicator" or e.key == situation
            ],
            breakdown=[list(pair) for pair in scored.breakdown],
            score=scored.score,
            severity=scored.severity,
            why=scored.why,
            created_at=now,
        )
        session.add(match)
        session.flush()
        assert match.id is not None
        if self._channel_counts is None:
            self._channel_counts = hourly_counts(session, now=now)
        decisions = decide_alerts(
            situation=situation,
            severity=scored.severity,
            published=item.published,
            now=now,
            subscriptions=subscriptions,
            settings=self.settings,
            channel_counts=self._channel_counts,
        )
        for d in decisions:
            session.add(
                Alert(
                    subscription_id=d.subscription_id,
                    item_id=row.id,
                    match_id=match.id,
                    channel=d.channel,
                    situation=situation,
                    severity=scored.severity,
                    state=d.state,
                    last_error=d.reason or None,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        return 1, sum(1 for d in decisions if d.state == "queued")

    def _cluster(self, session: Session, *, situation: str, row: ItemRow, now: datetime) -> int:
        """Attach the item to an earlier story of the same situation, or start a new one."""
        assert row.id is not None
        stories = self._stories.get(situation)
        if stories is None:
            stories = self._stories[situation] = self._load_stories(session, situation, now)
        for story in reversed(stories):
            if same_story(story.title, row.title):
                row.cluster_id = story.cluster_id
                break
        else:
            row.cluster_id = row.cluster_id or row.id
        session.add(row)
        stories.append(
            _StoryRef(
                item_id=row.id,
                cluster_id=row.cluster_id,
                title=row.title,
                source=row.source,
            )
        )
        return row.cluster_id

    def _load_stories(self, session: Session, situation: str, now: datetime) -> list[_StoryRef]:
        since = now - self.settings.alerts.cluster_window
        rows = session.exec(
            select(
                col(ItemRow.id),
                col(ItemRow.cluster_id),
                col(ItemRow.title),
                col(ItemRow.source),
            )
            .join(Match, col(Match.item_id) == col(ItemRow.id))
            .where(Match.situation == situation)
            .where(col(Match.created_at) >= since)
            .order_by(col(ItemRow.id))
        ).all()
        return [
            _StoryRef(item_id=i, cluster_id=c or i, title=t, source=s)
            for i, c, t, s in rows
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


def _item_row(item: Item, *, feed_id: int) -> ItemRow:
    return ItemRow(
        feed_id=feed_id,
        guid=item.guid,
        title=item.title,
        summary=item.summary,
        url=item.url,
        source=item.source[:255],
        language=item.language,
        countries=list(item.countries),
        primary_country=item.primary_country,
        tags=list(item.tags),
        title_key=title_key(item.title),
        published_at=item.published,
    )


def _evidence_json(evidence: Any, matcher: Matcher) -> dict[str, Any]:
    data = dataclasses.asdict(evidence)
    if data.get("kind") == "indicator":
        data["name"] = indicator_name(matcher, data["key"])
    return data
