"""Store new items, match them, assess them and queue their alerts — in the caller's transaction.

An item's matches and the alerts they cause are written in the same transaction as the item, so a
crash either keeps all three or none, and the unique keys (feed + guid, item + situation,
subscription + item) make a replay harmless. Rows are inserted in bulk, one statement per table
for all the feeds stored together (the poller stores the feeds that are ready at once, in one
transaction), which keeps a poll of thousands of items fast on SQLite and PostgreSQL alike.
Matched items go through `bot.assessment.assess` (story, corroboration, novelty, score), the
same function `tocsin backtest` replays them with.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session, select

from bot.alerts import decide_alerts
from bot.assessment import Assessment, StoryBook, Subject, assess
from bot.config import FeedSettings, Settings
from bot.matching.cluster import title_key
from bot.matching.events import event_record
from bot.matching.language import item_language
from bot.matching.matcher import Matcher
from bot.matching.model import Evidence, MatchResult
from bot.matching.settings import AlertThresholds
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


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """An item made ready to store: its language settled, its story key and its match. Made
    where the item is parsed (`bot.parsing`, on a worker process), so the writer does only
    the storing."""

    item: Item
    key: str
    result: MatchResult


def prepare(item: Item, matcher: Matcher) -> Prepared:
    """Settle the item's language, compute its story key and match it."""
    item = with_language(item)
    return Prepared(item=item, key=title_key(item.title), result=matcher.match(item))


@dataclass(frozen=True, kw_only=True)
class FeedItems:
    """One feed's parsed items, for `ItemWriter.write`."""

    feed: FeedSettings
    feed_id: int
    items: Sequence[Item | Prepared]


class ItemWriter:
    """Writes feeds' new items, their matches and alerts in the caller's transaction.

    What the assessment remembers (stories, sources, risk factors seen) is read from and written
    to the database for each write (`bot.store.stories`), so several instances agree. The first
    write of a cycle (`start_cycle`) prunes the story index."""

    def __init__(self, *, settings: Settings, matcher: Matcher) -> None:
        self.settings = settings
        self.matcher = matcher
        self._pruned = False

    def start_cycle(self) -> None:
        self._pruned = False

    def write(
        self, session: Session, parts: Sequence[FeedItems], *, now: datetime
    ) -> list[WriteStats]:
        """Store the new ones of each part's items (an item not `Prepared` yet is prepared
        here), with one statement per table for all the parts; one `WriteStats` per part."""
        fresh = self._fresh(session, parts)
        rows = [(part, p) for part, new in zip(parts, fresh, strict=True) for p in new]
        if not rows:
            return [WriteStats() for _ in parts]
        ids = _insert_ids(
            session,
            _ITEMS,
            [_item_values(p.item, key=p.key, feed_id=part.feed_id, now=now) for part, p in rows],
            lookup=lambda: _item_ids(session, [(part.feed_id, p.item.guid) for part, p in rows]),
        )
        part_of = {item_id: part.feed_id for item_id, (part, _) in zip(ids, rows, strict=True)}
        matched = [
            (
                p.item,
                Subject(
                    item_id=item_id,
                    key=p.key,
                    source=p.item.source[:255],
                    tier=part.feed.tier,
                    result=p.result,
                    now=now,
                ),
            )
            for item_id, (part, p) in zip(ids, rows, strict=True)
            if p.result.situations
        ]
        match_rows: list[dict[str, Any]] = []
        alert_rows: list[dict[str, Any]] = []
        if matched:
            assessments = self._assess(session, [subject for _, subject in matched], now=now)
            by_id = {subject.item_id: (item, subject) for item, subject in matched}
            match_rows = [self._match_values(a, *by_id[a.item_id], now=now) for a in assessments]
            match_ids = _insert_ids(
                session,
                _MATCHES,
                match_rows,
                lookup=lambda: _match_ids(
                    session, [(m["item_id"], m["situation"]) for m in match_rows]
                ),
            )
            texts = {i: (item.title, item.summary) for i, (item, _) in by_id.items()}
            alert_rows = self._queue(session, match_rows, match_ids, texts=texts, now=now)
        matches = Counter(part_of[m["item_id"]] for m in match_rows)
        alerts = Counter(part_of[a["item_id"]] for a in alert_rows)
        return [
            WriteStats(
                new_items=len(new),
                matches=matches[part.feed_id],
                alerts=alerts[part.feed_id],
            )
            for part, new in zip(parts, fresh, strict=True)
        ]

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

    def _fresh(self, session: Session, parts: Sequence[FeedItems]) -> list[list[Prepared]]:
        """Each part's items not stored yet, prepared (one select for all the parts)."""
        wanted = {(part.feed_id, guid_of(i)) for part in parts for i in part.items}
        known: set[tuple[int, str]] = set()
        if wanted:
            rows = session.execute(
                select(_ITEMS.c.feed_id, _ITEMS.c.guid)
                .where(_ITEMS.c.feed_id.in_({feed_id for feed_id, _ in wanted}))
                .where(_ITEMS.c.guid.in_({guid for _, guid in wanted}))
            ).all()
            known = {(feed_id, guid) for feed_id, guid in rows}
        return [
            [
                i if isinstance(i, Prepared) else prepare(i, self.matcher)
                for i in part.items
                if (part.feed_id, guid_of(i)) not in known
            ]
            for part in parts
        ]

    def _match_values(
        self, assessed: Assessment, item: Item, subject: Subject, *, now: datetime
    ) -> dict[str, Any]:
        situation, scored = assessed.situation, assessed.scored
        return {
            "item_id": assessed.item_id,
            "situation": situation,
            "indicators": list(subject.result.indicators),
            "evidence": stored_evidence(
                subject.result,
                self.matcher,
                situation=situation,
                thresholds=self.settings.alerts.thresholds,
            ),
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
    ) -> list[dict[str, Any]]:
        """Queue the alerts the matches call for; the outbox rows queued."""
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
        return alert_rows


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


def _item_ids(session: Session, keys: list[tuple[int, str]]) -> list[int]:
    """The ids of the items just inserted, in the order of their (feed, guid) keys."""
    rows = session.execute(
        select(_ITEMS.c.feed_id, _ITEMS.c.guid, _ITEMS.c.id)
        .where(_ITEMS.c.feed_id.in_({feed_id for feed_id, _ in keys}))
        .where(_ITEMS.c.guid.in_({guid for _, guid in keys}))
    ).all()
    found = {(feed_id, guid): item_id for feed_id, guid, item_id in rows}
    return [found[key] for key in keys]


def _match_ids(session: Session, keys: list[tuple[int, str]]) -> list[int]:
    """The ids of the matches just inserted, in the order of their (item, situation) keys."""
    rows = session.execute(
        select(_MATCHES.c.item_id, _MATCHES.c.situation, _MATCHES.c.id).where(
            _MATCHES.c.item_id.in_({item_id for item_id, _ in keys})
        )
    ).all()
    found = {(item_id, situation): match_id for item_id, situation, match_id in rows}
    return [found[key] for key in keys]


def guid_of(entry: Item | Prepared) -> str:
    return entry.item.guid if isinstance(entry, Prepared) else entry.guid


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


def stored_evidence(
    result: MatchResult,
    matcher: Matcher,
    *,
    situation: str | None,
    thresholds: AlertThresholds,
) -> list[dict[str, Any]]:
    """A match's evidence as stored with it (and read back by alert cards, `tocsin why` and
    feedback): the indicator evidence, the mentions of `situation` (all, with None) and the
    events."""
    return [
        _evidence_json(e, matcher)
        for e in result.evidence
        if situation is None or e.kind == "indicator" or e.key == situation
    ] + [
        event_record(
            e,
            mass_casualty=thresholds.mass_casualty,
            critical_casualties=thresholds.critical_casualties,
        )
        for e in result.events
    ]


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
