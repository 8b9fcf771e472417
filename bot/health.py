"""Health: the outbox as the database sees it, the `/healthz` checks, the health-only server.

`GET /healthz` is 503 when the database does not answer or the outbox is stuck (a message has been
due for longer than `STUCK_AFTER`: nothing is draining it), 200 otherwise. Blocked channels are
shown but never make Tocsin unhealthy: a person has to fix them in Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.slack.server import (
    Check,
    Health,
    Server,
    channel_errors_check,
    database_check,
    wsgi_app,
)
from bot.store.tables import PENDING, ChannelState, MessageState, OutboxMessage

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

STUCK_AFTER = timedelta(minutes=15)
"""A message due for longer than this means the outbox is not draining: /healthz says 503."""

Clock = Callable[[], datetime]


@dataclass(frozen=True, kw_only=True)
class OutboxStatus:
    depth: int  # queued + sending, every kind
    oldest_due_seconds: float  # 0 when nothing is due
    held: int  # alerts the flood guard holds for their hour's roll-up
    review: int  # alerts waiting for a reviewer
    blocked_channels: tuple[tuple[str, str], ...]  # (channel, Slack error code)


def outbox_status(engine: Engine, *, now: datetime) -> OutboxStatus:
    """Four aggregate queries (the outbox ones use the `ix_outbox_due` index)."""
    with engine.connect() as conn:
        depth, oldest = conn.execute(
            select(func.count(), func.min(col(OutboxMessage.next_attempt_at))).where(
                col(OutboxMessage.state).in_(PENDING)
            )
        ).one()
        held, review = (
            conn.execute(select(func.count()).where(col(OutboxMessage.state) == state)).scalar_one()
            for state in (MessageState.HELD, MessageState.REVIEW)
        )
        blocked = conn.execute(
            select(col(ChannelState.channel), col(ChannelState.error))
            .where(col(ChannelState.error).is_not(None))
            .order_by(col(ChannelState.channel))
        ).all()
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxStatus(
        depth=int(depth),
        oldest_due_seconds=max(0.0, age),
        held=int(held),
        review=int(review),
        blocked_channels=tuple((str(c), str(e)) for c, e in blocked),
    )


def outbox_check(engine: Engine, *, clock: Clock, stuck_after: timedelta = STUCK_AFTER) -> Check:
    """Not ok when the oldest due message has waited longer than `stuck_after`."""

    def check() -> tuple[bool, str]:
        status = outbox_status(engine, now=clock())
        detail = f"depth={status.depth} oldest_due_s={int(status.oldest_due_seconds)}"
        if status.oldest_due_seconds > stuck_after.total_seconds():
            return False, f"{detail}: stuck (due for more than {int(stuck_after.total_seconds())}s)"
        return True, detail

    return check


def add_checks(
    health: Health, engine: Engine, *, clock: Clock, stuck_after: timedelta = STUCK_AFTER
) -> Health:
    """database, outbox and channels (info) checks, added to `health` (replacing same names)."""
    health.add("database", database_check(engine))
    health.add("outbox", outbox_check(engine, clock=clock, stuck_after=stuck_after))
    health.add("channels", channel_errors_check(engine))
    return health


def serve_health(
    *,
    engine: Engine,
    clock: Clock,
    routes: dict[str, WSGIApplication],
    host: str,
    port: int,
    stuck_after: timedelta = STUCK_AFTER,
) -> Server:
    """An HTTP server with `/healthz` and `routes` (e.g. `/metrics`) but no Slack endpoint:
    for `tocsin run` without Slack credentials."""
    health = add_checks(Health(), engine, clock=clock, stuck_after=stuck_after)
    return Server(wsgi_app(events=None, health=health, routes=routes), host=host, port=port)
