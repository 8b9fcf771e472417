"""Builders for briefing tests: reports (feed → item → match), digest alerts, settings, data."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.config import Settings, parse_settings
from bot.store.db import session_scope
from bot.store.tables import MessageState, OutboxMessage, Subscription
from tests.slack.helpers import add_match

# Monday 6 May 2024 09:00 UTC: a weekly briefing time with the default settings
MONDAY = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
CHANNEL = "CBRIEF01"
ALLOWED = "CALLOWED"
NAMES = {
    "RF1": "Situations of armed conflict",
    "RF9": "Mass killing",
    "RF10": "Hate speech",
    "RF14": "Displacement",
}
_guids = itertools.count(1)


def settings(**overrides: Any) -> Settings:
    raw: dict[str, Any] = {
        "feeds": [
            {
                "name": "un-news",
                "url": "https://news.un.org/rss",
                "region": "global",
                "language": "en",
            },
            {"name": "rfi", "url": "https://rfi.fr/rss", "region": "europe", "language": "fr"},
            {
                "name": "dabanga",
                "url": "https://dabanga.org/rss",
                "region": "africa",
                "language": "ar",
            },
        ],
        "situations": [
            {"slug": "sudan", "name": "Sudan", "countries": ["SDN"]},
            {
                "slug": "drc-east",
                "name": "Eastern DRC",
                "countries": ["COD"],
                "sensitivity": "restricted",
                "allowed_channels": [ALLOWED],
            },
        ],
        "subscriptions": [{"channel": CHANNEL, "situations": ["sudan"]}],
    }
    raw.update(overrides)
    return parse_settings(raw)


def add_report(
    engine: Engine,
    *,
    published: datetime,
    situation: str = "sudan",
    indicators: tuple[str, ...] = ("RF9",),
    severity: str = "warning",
    score: float = 6.0,
    title: str = "Attack on a displacement camp",
    url: str | None = "https://news.example.org/story?id=1&lang=en",
    source: str = "Radio Dabanga",
    feed: str = "dabanga",
    language: str | None = None,
) -> tuple[int, int]:
    """Feed → item → match; returns (item id, match id)."""
    return add_match(
        engine,
        feed=feed,
        guid=f"g{next(_guids)}",
        title=title,
        url=url,
        source=source,
        language=language,
        published=published,
        situation=situation,
        indicators=indicators,
        evidence=[
            {"kind": "indicator", "key": c, "name": NAMES.get(c, c), "field": "title"}
            for c in indicators
        ],
        score=score,
        severity=severity,
    )


def subscription(
    engine: Engine,
    *,
    channel: str = CHANNEL,
    situation: str = "sudan",
    created: datetime = MONDAY - timedelta(days=30),
    **values: Any,
) -> int:
    with session_scope(engine) as session:
        sub = Subscription(channel=channel, situation=situation, created_at=created, **values)
        session.add(sub)
        session.flush()
        assert sub.id is not None
        return sub.id


def digest_alert(
    engine: Engine,
    *,
    subscription_id: int,
    created: datetime,
    channel: str = CHANNEL,
    situation: str = "sudan",
    severity: str = "warning",
    state: MessageState = MessageState.DIGEST,
    title: str = "Attack on a displacement camp",
) -> int:
    item_id, match_id = add_report(
        engine, published=created, situation=situation, severity=severity, title=title
    )
    with session_scope(engine) as session:
        alert = OutboxMessage(
            subscription_id=subscription_id,
            item_id=item_id,
            match_id=match_id,
            channel=channel,
            situation=situation,
            severity=severity,
            state=state,
            created_at=created,
        )
        session.add(alert)
        session.flush()
        assert alert.id is not None
        return alert.id


def week_of_reports(engine: Engine, *, end: datetime = MONDAY) -> None:
    """A varied period and the one before it, for content tests."""
    day = timedelta(days=1)
    add_report(engine, published=end - 10 * day, indicators=("RF1",), severity="watch", score=3)
    add_report(engine, published=end - 9 * day, indicators=("RF9",), severity="warning", score=6)
    add_report(
        engine,
        published=end - 3 * day,
        indicators=("RF9", "RF10"),
        severity="critical",
        score=11,
        title="Massacre reported in El Geneina <script>",
        source="UN News",
        feed="un-news",
    )
    add_report(
        engine,
        published=end - 2 * day,
        indicators=("RF14",),
        severity="warning",
        score=5.5,
        source="RFI",
        feed="rfi",
        language="fr",
    )
    add_report(engine, published=end - 1 * day, indicators=("RF9",), severity="watch", score=3)


def vote(
    engine: Engine,
    *,
    item_id: int,
    match_id: int,
    users: tuple[str, ...],
    relevant: bool,
    at: datetime,
    situation: str = "sudan",
) -> None:
    """Votes on an alert of the report (one alert row, as the buttons under it would record)."""
    from bot.feedback import Origin, record

    with session_scope(engine) as session:
        alert = OutboxMessage(
            item_id=item_id,
            match_id=match_id,
            channel=CHANNEL,
            situation=situation,
            severity="warning",
            state=MessageState.DELIVERED,
            created_at=at,
        )
        session.add(alert)
        session.flush()
        for user in users:
            record(
                session,
                alert_id=alert.id or 0,
                user=user,
                relevant=relevant,
                origin=Origin.BUTTON,
                now=at,
            )
