"""Read-side query functions shared by the CLI, Slack commands and briefings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.store.tables import Feed, Item


@dataclass(frozen=True, kw_only=True)
class FeedHealth:
    name: str
    kind: str
    url: str
    last_status: str | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll_at: datetime | None
    item_count: int


def feed_health(session: Session) -> list[FeedHealth]:
    """One row per known feed, with its item count, ordered by name."""
    rows = session.exec(select(col(Item.feed_id), func.count()).group_by(col(Item.feed_id))).all()
    counts = {feed_id: int(n) for feed_id, n in rows}
    return [
        FeedHealth(
            name=f.name,
            kind=f.kind,
            url=f.url,
            last_status=f.last_status,
            last_success_at=f.last_success_at,
            last_error=f.last_error,
            last_error_at=f.last_error_at,
            consecutive_failures=f.consecutive_failures,
            next_poll_at=f.next_poll_at,
            item_count=counts.get(f.id or 0, 0),
        )
        for f in session.exec(select(Feed).order_by(Feed.name)).all()
    ]
