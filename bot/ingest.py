"""Store new items, match them, assess them and queue their alerts — in the caller's transaction.

An item's matches and the alerts they cause are written in the same transaction as the item, so a
crash either keeps all three or none, and the unique keys (feed + guid, item + situation,
subscription + item) make a replay harmless. Rows are inserted in bulk (one statement per table
per feed), which keeps a poll of thousands of items fast on SQLite and PostgreSQL alike.
Matched items go through `bot.assessment.assess` (story, corroboration, novelty, score), the
same function `tocsin backtest` replays them with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session, col, select

from bot.alerts import decide_alerts
from bot.assessment import Assessment, StoryBook, Subject, assess
from bot.config import FeedSettings, Settings
from bot.matching.cluster import title_key
from bot.matching.events import event_record
from bot.matching.language import item_language
from bot.matching.matcher import Matcher
from bot.matching.model import Evidence
from bot.matching.setup import indicator_name
from bot.store.stories import load_book, lock_stories, prune, save_book, sources_of
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


class ItemWriter:
    """Writes each feed's new items, their matches and alerts in the caller's transaction.

    What the assessment remembers (stories, sources, risk factors seen) is read from and written
    to the database for each feed (`bot.store.stories`), so several instances agree. The first
    write of a cycle (`start_cycle`) prunes the story index."""

    def __init__(self, *, settings: Settings, matcher: Matcher) -> None:
        self.settings = settings
        self.matcher = matcher
        self._pruned = False

    def start_cycle(self) -> None:
        self._pruned = False

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
        keys = [title_key(item.title) for item in fresh]
        ids = _insert_ids(
            session,
            _ITEMS,
            [
                _item_values(item, key=key, feed_id=feed_id, now=now)
                for item, key in zip(fresh, keys, strict=True)
            ],
            lookup=lambda: _item_ids(session, feed_id=feed_id, guids=[i.guid for i in fresh]),
        )
        matched = []
        for item_id, item, key in zip(ids, fresh, keys, strict=True):
            result = self.matcher.match(item)
            if result.situations:
                subject = Subject(
                    item_id=item_id,
                    key=key,
                    source=item.source[:255],
                    tier=feed.tier,
                    result=result,
                    now=now,
                )
                matched.append((item, subject))
        if not matched:
            return WriteStats(new_items=len(fresh))
        assessments = self._assess(session, [subject for _, subject in matched], now=now)
        items_by_id = {subject.item_id: (item, subject) for item, subject in matched}
        match_rows = [self._match_values(a, *items_by_id[a.item_id], now=now) for a in assessments]
        match_ids = _insert_ids(
            session,
            _MATCHES,
            match_rows,
            lookup=lambda: _match_ids(
                session, [(m["item_id"], m["situation"]) for m in match_rows]
            ),
        )
        texts = {item_id: (item.title, item.summary) for item_id, (item, _) in items_by_id.items()}
        alerts = self._queue(session, match_rows, match_ids, texts=texts, now=now)
        return WriteStats(new_items=len(fresh), matches=len(match_rows), alerts=alerts)

    def _assess(
        self, session: Session, subjects: list[Subject], *, now: datetime
    ) -> list[Assessment]:
        """Assess under the lock, with the book loaded from and saved to the database."""
        lock_stories(session)
        book = StoryBook.for_alerts(self.settings.alerts)
        if not self._pruned:
            prune(session, book, now=now)
            self._pruned = True
        load_book(session, book, subjects)
        assessments = assess(
            book,
            subjects,
            settings=self.settings,
            sources_of=lambda stories: sources_of(session, stories),
        )
        save_book(session, book)
        return assessments

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
        self, assessed: Assessment, item: Item, subject: Subject, *, now: datetime
    ) -> dict[str, Any]:
        situation, scored = assessed.situation, assessed.scored
        return {
            "item_id": assessed.item_id,
            "situation": situation,
            "indicators": list(subject.result.indicators),
            "evidence": [
                _evidence_json(e, self.matcher)
                for e in subject.result.evidence
                if e.kind == "indicator" or e.key == situation
            ]
            + [
                event_record(
                    e,
                    mass_casualty=self.settings.alerts.thresholds.mass_casualty,
                    critical_casualties=self.settings.alerts.thresholds.critical_casualties,
                )
                for e in subject.result.events
            ],
            "breakdown": [list(pair) for pair in scored.breakdown],
            "score": scored.score,
            "severity": scored.severity,
            "why": scored.why,
            "published_at": item.published,
            "created_at": now,
        }

    def _queue(
        self,
        session: Session,
        match_rows: list[dict[str, Any]],
        match_ids: list[int],
        *,
        texts: dict[int, tuple[str, str]],
        now: datetime,
    ) -> int:
        subscriptions = list(session.exec(select(Subscription).where(Subscription.active)).all())
        alert_rows = []
        for match, match_id in zip(match_rows, match_ids, strict=True):
            title, summary = texts[match["item_id"]]
            for d in decide_alerts(
                situation=match["situation"],
                severity=match["severity"],
                published=match["published_at"],
                now=now,
                subscriptions=subscriptions,
                settings=self.settings,
                title=title,
                summary=summary,
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
                        "payload": {"filter": list(d.matched)} if d.matched else {},
                    }
                )
        if alert_rows:
            session.execute(insert(_ALERTS), alert_rows)
        return len(alert_rows)


def _insert_ids(
    session: Session, table: Table, rows: list[dict[str, Any]], *, lookup: Callable[[], list[int]]
) -> list[int]:
    """Insert `rows`; their ids, in order. PostgreSQL returns them from batched statements;
    SQLite would insert row by row to return them in order, so it inserts in bulk and then
    `lookup`s them (one select)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    session.execute(insert(table), rows)
    return lookup()


def _item_ids(session: Session, *, feed_id: int, guids: list[str]) -> list[int]:
    """The ids of the items just inserted, in the order of `guids`."""
    rows = session.execute(
        select(_ITEMS.c.guid, _ITEMS.c.id)
        .where(_ITEMS.c.feed_id == feed_id)
        .where(_ITEMS.c.guid.in_(guids))
    ).all()
    found = {guid: item_id for guid, item_id in rows}
    return [found[guid] for guid in guids]


def _match_ids(session: Session, keys: list[tuple[int, str]]) -> list[int]:
    """The ids of the matches just inserted, in the order of their (item, situation) keys."""
    rows = session.execute(
        select(_MATCHES.c.item_id, _MATCHES.c.situation, _MATCHES.c.id).where(
            _MATCHES.c.item_id.in_({item_id for item_id, _ in keys})
        )
    ).all()
    found = {(item_id, situation): match_id for item_id, situation, match_id in rows}
    return [found[key] for key in keys]


def with_language(item: Item) -> Item:
    """The item with the language its terms are chosen by: the feed's when the text is in its
    script, else detected (bot/matching/language.py); stored, it also feeds the briefings'
    language diversity."""
    language = item_language(item.language, item.title, item.summary)
    return item if language == item.language else replace(item, language=language)


def _item_values(item: Item, *, key: str, feed_id: int, now: datetime) -> dict[str, Any]:
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
        "title_key": key,
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
