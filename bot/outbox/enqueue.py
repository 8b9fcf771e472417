"""Put a message in the outbox, once: the one way briefings, digests, roll-ups, card updates,
escalations and reviews are queued (alerts are bulk-inserted by `bot.ingest` under their own
unique key).

A `dedupe_key` makes the insert idempotent across restarts and instances: a second insert finds
the first row instead. A row with that key that `failed` is queued again, once, by whoever asks
next (its sent parts stay sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.tables import MessageKind, MessageState, OutboxMessage


@dataclass(frozen=True, kw_only=True)
class Enqueued:
    id: int
    created: bool  # False: the key was taken (a failed row may have been re-queued: `requeued`)
    requeued: bool = False


def enqueue(
    session: Session,
    *,
    kind: MessageKind,
    channel: str,
    situation: str,
    now: datetime,
    dedupe_key: str | None = None,
    subscription_id: int | None = None,
    parent_id: int | None = None,
    item_id: int | None = None,
    match_id: int | None = None,
    severity: str | None = None,
    payload: dict[str, Any] | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> Enqueued:
    """Queue a message; with `dedupe_key`, at most one row per key ever exists."""
    row = OutboxMessage(
        kind=kind,
        channel=channel,
        situation=situation,
        severity=severity,
        subscription_id=subscription_id,
        parent_id=parent_id,
        item_id=item_id,
        match_id=match_id,
        dedupe_key=dedupe_key,
        payload=payload or {},
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        if dedupe_key is None:
            raise
        return _existing(session, dedupe_key, now=now)
    assert row.id is not None
    return Enqueued(id=row.id, created=True)


def _existing(session: Session, dedupe_key: str, *, now: datetime) -> Enqueued:
    requeued = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.dedupe_key) == dedupe_key)
        .where(col(OutboxMessage.state) == MessageState.FAILED)
        .values(state=MessageState.QUEUED, attempts=0, next_attempt_at=now, last_error=None)
        .returning(col(OutboxMessage.id))
    ).first()
    if requeued is not None:
        return Enqueued(id=int(requeued[0]), created=False, requeued=True)
    found = session.exec(
        select(OutboxMessage.id).where(col(OutboxMessage.dedupe_key) == dedupe_key)
    ).one()
    assert found is not None
    return Enqueued(id=found, created=False)


def queue_card_update(
    session: Session, *, channel: str, situation: str, root_id: int | None, now: datetime
) -> Enqueued:
    """A chat.update of card `root_id` (a story's root card, or a review card) in `channel`; the
    deliverer skips it when a newer update of the same card follows."""
    return enqueue(
        session,
        kind=MessageKind.CARD_UPDATE,
        channel=channel,
        situation=situation,
        now=now,
        parent_id=root_id,
    )


def period_key(prefix: str, *, channel: str, situation: str, start: datetime) -> str:
    """`prefix:channel:situation:start` — the key of a message sent once per period."""
    return f"{prefix}:{channel}:{situation}:{start.isoformat()}"
