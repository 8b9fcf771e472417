"""Shared by the reliability tests and `bench/outbox_drain.py`: settings and a seeded outbox.

seed_outbox(engine, channels=["C0REL00001", …], per_channel=150, now=…)  → alert ids, in order
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings, parse_settings
from bot.store.db import session_scope
from bot.store.tables import Feed, Item, Match, OutboxMessage, Subscription

SITUATION = "sudan"


def outbox_settings(**alerts: object) -> Settings:
    return parse_settings(
        {
            "situations": [{"slug": SITUATION, "name": "Sudan", "countries": ["SDN"]}],
            # no flood guard here: these measure delivery itself (tests/test_outbox.py has it)
            "alerts": {
                "retry_base": "1s",
                "retry_max": "5s",
                "max_attempts": 50,
                "channel_hourly_cap": 1_000_000,
                **alerts,
            },
        }
    )


def channel_names(count: int) -> list[str]:
    return [f"C0REL{n:05d}" for n in range(count)]


def seed_outbox(
    engine: Engine,
    *,
    channels: Sequence[str],
    per_channel: int,
    now: datetime,
    story_size: int = 1,
) -> list[int]:
    """`per_channel` queued alerts in each channel, interleaved across channels.

    With `story_size` > 1, consecutive items form one story (cluster), so later alerts of a story
    are posted as replies in the thread of the first one delivered.
    """
    ids: list[int] = []
    with session_scope(engine) as s:
        feed = Feed(name="reliability", kind="rss", url="https://example.org/rss")
        s.add(feed)
        s.flush()
        subs = {}
        for channel in channels:
            sub = Subscription(channel=channel, situation=SITUATION, min_severity="info")
            s.add(sub)
            subs[channel] = sub
        s.flush()
        items, cluster = [], None
        for n in range(per_channel):
            item = Item(
                feed_id=feed.id or 0,
                guid=f"rel-{n}",
                title=f"Sudan: report number {n} from El Fasher",
                url=f"https://example.org/{n}",
                source="Example News",
                published_at=now,
            )
            s.add(item)
            s.flush()
            if n % story_size == 0:
                cluster = item.id
            item.cluster_id = cluster if story_size > 1 else None
            items.append(item)
        matches = []
        for item in items:
            match = Match(
                item_id=item.id or 0,
                situation=SITUATION,
                severity="warning",
                score=5.0,
                why="killings reported",
                created_at=now,
            )
            s.add(match)
            matches.append(match)
        s.flush()
        alerts = []
        for item, match in zip(items, matches, strict=True):
            for channel in channels:
                alert = OutboxMessage(
                    subscription_id=subs[channel].id or 0,
                    item_id=item.id or 0,
                    match_id=match.id or 0,
                    channel=channel,
                    situation=SITUATION,
                    severity="warning",
                    created_at=now,
                    next_attempt_at=now,
                )
                s.add(alert)
                alerts.append(alert)
        s.flush()
        ids = [a.id or 0 for a in alerts]
    return ids


def outbox_states(engine: Engine) -> dict[int, str]:
    from sqlmodel import select

    with session_scope(engine) as s:
        return {a.id or 0: a.state for a in s.exec(select(OutboxMessage)).all()}
