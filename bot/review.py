"""Review before sharing: alerts wait for a person in a review channel, then go on (or not).

A subscription with a review channel (its own `review_channel`, else its situation's) does not
get its alerts straight away. The delivery policy gives such an alert the state `review`
(`bot.outbox.policy`, rule 4a) and the deliverer calls `put_up`: one `review` message per review
channel and item (a dedupe key) is queued to the review channel, through the same outbox, with
Share, Share with note… and Discard buttons; the alert keeps its id in `review_id`.

    decide          a reviewer's Share or Discard: one `review_decision` row per review (its
                    primary key is the review's id: a second click, a second reviewer or a
                    replayed request finds it taken), then ONE conditional UPDATE moves the
                    waiting alerts on (`WHERE review_id = … AND state = 'review'`): shared →
                    `queued` with the reviewer and note in their payload, discarded →
                    `discarded`; the review card is updated and the decision audited
    settle_reviews  the periodic sweep (scheduler job `reviews`): a critical alert whose
                    `review_timeout` has passed goes on marked "not yet reviewed" (the same
                    conditional UPDATE, per alert), and an alert that joined a review after its
                    decision follows that decision
    waiting         what waits, oldest first, for `/tocsin review` and App Home (`Queue`)

Nothing here posts to Slack: every message (the review card, its updates, the shared alerts)
is an outbox row that the one deliverer sends under the one policy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.durations import format_duration
from bot.outbox.enqueue import enqueue, queue_card_update
from bot.store.db import session_scope
from bot.store.tables import (
    Item,
    MessageKind,
    MessageState,
    OutboxMessage,
    ReviewDecision,
    Subscription,
)
from bot.subscriptions import audit, review_timeout

log = logging.getLogger(__name__)
MAX_NOTE = 1000  # characters of a reviewer's note that are kept
SYSTEM = "tocsin"  # the actor of a timeout in the audit log


class Decision(StrEnum):
    SHARED = "shared"
    DISCARDED = "discarded"


class Outcome(StrEnum):
    DONE = "done"  # this request decided the review
    ALREADY = "already"  # someone (maybe the same person) decided it before
    UNKNOWN = "unknown"  # no such review in this channel (stale, forged or replayed)


@dataclass(frozen=True, kw_only=True)
class Decided:
    outcome: Outcome
    decision: ReviewDecision | None = None  # the decision that stands (None: UNKNOWN)
    released: tuple[int, ...] = ()  # alerts this request moved on


@dataclass(frozen=True, kw_only=True)
class Destination:
    channel: str
    state: MessageState
    unreviewed: bool  # went on after its review timed out


@dataclass(frozen=True, kw_only=True)
class Waiting:
    """A review nobody has decided yet (raw strings: templates escape them)."""

    review_id: int
    review_channel: str
    situation: str
    severity: str
    title: str
    url: str | None
    source: str
    since: datetime
    destinations: tuple[str, ...]


def age(delta: timedelta) -> str:
    """How long something has waited, to the minute ("3h20m"; "<1m")."""
    minutes = int(delta.total_seconds() // 60)
    return format_duration(timedelta(minutes=minutes)) if minutes > 0 else "<1m"


def review_key(review_channel: str, match_id: int | None) -> str:
    return f"review:{review_channel}:{match_id}"


def put_up(
    session: Session, alert: OutboxMessage, *, review_channel: str, now: datetime
) -> MessageState:
    """Queue (or join) the review of `alert`'s item in `review_channel`; the state the alert
    takes: `review`, or — when the review was decided already — that decision's."""
    queued = enqueue(
        session,
        kind=MessageKind.REVIEW,
        channel=review_channel,
        situation=alert.situation,
        now=now,
        dedupe_key=review_key(review_channel, alert.match_id),
        severity=alert.severity,
        item_id=alert.item_id,
        match_id=alert.match_id,
    )
    alert.review_id = queued.id
    decided = session.get(ReviewDecision, queued.id)
    if decided is not None:
        return _follow(alert, decided)
    review = session.get(OutboxMessage, queued.id)
    if not queued.created and review is not None and review.message_ts is not None:
        _update_card(session, review, now=now)  # the card lists one more destination
    return MessageState.REVIEW


def _follow(alert: OutboxMessage, decided: ReviewDecision) -> MessageState:
    if decided.decision == Decision.DISCARDED:
        return MessageState.DISCARDED
    alert.payload = {**alert.payload, "review": shared_mark(decided)}
    return MessageState.QUEUED


def shared_mark(decided: ReviewDecision) -> dict[str, Any]:
    """What a shared alert carries (its payload's `review`), for "Reviewed by …"."""
    return {
        "outcome": "shared",
        "by": decided.actor,
        "note": decided.note,
        "at": decided.decided_at.isoformat(),
    }


def decide(
    session: Session,
    *,
    review_id: int,
    channel: str,
    user: str,
    decision: Decision,
    now: datetime,
    note: str | None = None,
) -> Decided:
    """Record `user`'s decision on review `review_id` (clicked in `channel`) exactly once."""
    review = session.get(OutboxMessage, review_id)
    if review is None or review.kind != MessageKind.REVIEW or review.channel != channel:
        return Decided(outcome=Outcome.UNKNOWN)
    note = (note or "").strip()[:MAX_NOTE] or None
    row = ReviewDecision(
        review_id=review_id, decision=decision, actor=user, note=note, decided_at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        if row in session:
            session.expunge(row)
        taken = session.get(ReviewDecision, review_id, populate_existing=True)
        return Decided(outcome=Outcome.ALREADY, decision=taken)
    released = _release(session, review_id, decided=row, now=now)
    _update_card(session, review, now=now)
    audit(
        session,
        actor=user,
        action=f"review_{decision}",
        now=now,
        channel=channel,
        situation=review.situation,
        detail={"review_id": review_id, "alerts": list(released), "note": note},
    )
    log.info(
        "event=review_decided review=%s decision=%s alerts=%s", review_id, decision, len(released)
    )
    return Decided(outcome=Outcome.DONE, decision=row, released=released)


def _release(
    session: Session, review_id: int, *, decided: ReviewDecision, now: datetime
) -> tuple[int, ...]:
    """Move every alert still waiting for this review on, in one conditional UPDATE."""
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.review_id) == review_id)
        .where(col(OutboxMessage.state) == MessageState.REVIEW)
    )
    if decided.decision == Decision.DISCARDED:
        values: dict[str, Any] = {
            "state": MessageState.DISCARDED,
            "last_error": f"discarded by {decided.actor}",
        }
    else:
        values = {
            "state": MessageState.QUEUED,
            "next_attempt_at": now,
            "payload": {"review": shared_mark(decided)},
        }
    result = session.execute(statement.values(**values).returning(col(OutboxMessage.id)))
    return tuple(sorted(int(i) for i in result.scalars()))


def _update_card(session: Session, review: OutboxMessage, *, now: datetime) -> None:
    """Queue a chat.update of the review card (its destinations, or the decision)."""
    queue_card_update(
        session, channel=review.channel, situation=review.situation, root_id=review.id, now=now
    )


def settle_reviews(engine: Engine, *, settings: Settings, now: datetime) -> int:
    """Release what may go on without a reviewer; returns how many alerts were released."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage, Subscription)
            .join(Subscription, col(Subscription.id) == col(OutboxMessage.subscription_id))
            .where(OutboxMessage.state == MessageState.REVIEW)
        ).all()
        waiting = [(alert.id, alert.review_id, _timeout(sub, settings)) for alert, sub in rows]
    released = 0
    for alert_id, review_id, timeout in waiting:
        if alert_id is None or review_id is None:
            continue
        with session_scope(engine) as session:
            released += _settle_one(session, alert_id, review_id, timeout=timeout, now=now)
    return released


def _timeout(sub: Subscription, settings: Settings) -> timedelta | None:
    return review_timeout(sub, settings.situation(sub.situation))


def _settle_one(
    session: Session, alert_id: int, review_id: int, *, timeout: timedelta | None, now: datetime
) -> int:
    review = session.get(OutboxMessage, review_id)
    alert = session.get(OutboxMessage, alert_id)
    if review is None or alert is None:
        return 0
    decided = session.get(ReviewDecision, review_id)
    if decided is not None:  # it joined the review after the decision
        state = _follow(alert, decided)
        payload, reason = alert.payload, f"follows the review's decision ({decided.decision})"
    elif (
        alert.severity == "critical" and timeout is not None and review.created_at + timeout <= now
    ):
        state = MessageState.QUEUED
        payload = {"review": {"outcome": "unreviewed", "after": int(timeout.total_seconds())}}
        reason = "review timed out"
    else:
        return 0
    moved = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == alert_id)
        .where(col(OutboxMessage.state) == MessageState.REVIEW)
        .values(state=state, payload=payload, next_attempt_at=now)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return 0  # a reviewer (or another instance) got there first
    if decided is None:
        _update_card(session, review, now=now)
        audit(
            session,
            actor=SYSTEM,
            action="review_timeout",
            now=now,
            channel=review.channel,
            situation=review.situation,
            detail={"review_id": review_id, "alert": alert_id, "to": alert.channel},
        )
    log.info("event=review_released alert=%s review=%s reason=%r", alert_id, review_id, reason)
    return 1 if state == MessageState.QUEUED else 0


def destinations(session: Session, review_id: int) -> list[Destination]:
    """The alerts a review decides for, as their channels see them."""
    rows = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.review_id == review_id)
        .order_by(col(OutboxMessage.channel), col(OutboxMessage.id))
    ).all()
    return [
        Destination(
            channel=row.channel,
            state=row.state,
            unreviewed=(row.payload.get("review") or {}).get("outcome") == "unreviewed",
        )
        for row in rows
    ]


@dataclass(frozen=True, kw_only=True)
class Queue:
    """The oldest reviews that wait (at most the `limit` asked for), and how many wait in all."""

    oldest: tuple[Waiting, ...]
    total: int


def waiting(
    session: Session,
    *,
    situations: Iterable[str],
    channels: Iterable[str] | None = None,
    limit: int = 20,
) -> Queue:
    """Reviews that alerts still wait for (nobody decided, no timeout released them all), oldest
    first, of `situations` (and in `channels`)."""
    waits = (
        select(OutboxMessage.review_id)
        .where(OutboxMessage.state == MessageState.REVIEW)
        .where(col(OutboxMessage.review_id).is_not(None))
    )
    where: list[ColumnElement[bool]] = [
        col(OutboxMessage.kind) == MessageKind.REVIEW,
        col(OutboxMessage.situation).in_(list(situations)),
        col(OutboxMessage.id).in_(waits),
    ]
    if channels is not None:
        where.append(col(OutboxMessage.channel).in_(list(channels)))
    total = session.exec(select(func.count()).select_from(OutboxMessage).where(*where)).one()
    rows = session.exec(
        select(OutboxMessage, Item)
        .join(Item, col(Item.id) == col(OutboxMessage.item_id))
        .where(*where)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        .limit(limit)
    ).all()
    channels_of: dict[int, list[str]] = {}
    if rows:
        ids = [review.id for review, _ in rows]
        for review_id, channel in session.exec(
            select(OutboxMessage.review_id, OutboxMessage.channel)
            .where(col(OutboxMessage.review_id).in_(ids))
            .order_by(col(OutboxMessage.channel), col(OutboxMessage.id))
        ).all():
            channels_of.setdefault(review_id, []).append(channel)  # type: ignore[arg-type]
    return Queue(
        oldest=tuple(
            _waiting(review, item, channels_of.get(review.id or 0, [])) for review, item in rows
        ),
        total=total,
    )


def _waiting(review: OutboxMessage, item: Item, channels: list[str]) -> Waiting:
    assert review.id is not None
    return Waiting(
        review_id=review.id,
        review_channel=review.channel,
        situation=review.situation,
        severity=review.severity or "",
        title=item.title,
        url=item.url,
        source=item.source,
        since=review.created_at,
        destinations=tuple(channels),
    )
