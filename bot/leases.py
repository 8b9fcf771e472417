"""Instances and their leases: who is working on what, renewed while the instance lives.

An instance (one `tocsin run` process, `instance_id()`) leases the feeds it polls
(`[polling] lease`) and the messages it delivers (`[alerts] lease`). Leases are short; the
instance's `Heartbeat` renews all of them every third of the shorter lease, however long a fetch
or a Slack call takes. When an instance dies its heartbeat stops, its leases run out, and the
others take its work over: within one lease (plus one poll tick for a feed).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from bot.store.db import session_scope
from bot.store.tables import PENDING, Feed, OutboxMessage

log = logging.getLogger(__name__)


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """Renews every lease `owner` holds: `beat()` once, or `running()` on a thread of its own."""

    def __init__(
        self,
        *,
        engine: Engine,
        owner: str,
        clock: Callable[[], datetime],
        feed_lease: timedelta,
        message_lease: timedelta,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.clock = clock
        self.feed_lease = feed_lease
        self.message_lease = message_lease

    @property
    def interval(self) -> timedelta:
        return min(self.feed_lease, self.message_lease) / 3

    def beat(self) -> tuple[int, int]:
        """Push the owner's leases forward; returns (feeds, messages) renewed."""
        now = self.clock()
        with session_scope(self.engine) as session:
            feeds = session.execute(
                update(Feed)
                .where(col(Feed.lease_owner) == self.owner)
                .where(col(Feed.lease_expires_at).is_not(None))
                .values(lease_expires_at=now + self.feed_lease)
            )
            messages = session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.lease_owner) == self.owner)
                .where(col(OutboxMessage.state).in_(PENDING))
                .values(lease_expires_at=now + self.message_lease)
            )
        renewed = (int(feeds.rowcount or 0), int(messages.rowcount or 0))  # type: ignore[attr-defined]
        if any(renewed):
            log.debug("event=heartbeat owner=%s feeds=%d messages=%d", self.owner, *renewed)
        return renewed

    @contextmanager
    def running(self) -> Iterator[None]:
        """Beat every `interval` on a daemon thread until the block ends."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.beat()
                except SQLAlchemyError as exc:  # the database is away: try again next beat
                    log.warning("event=heartbeat_failed owner=%s error=%r", self.owner, exc)
                stop.wait(self.interval.total_seconds())

        thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)
