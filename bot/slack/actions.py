"""Alert buttons: feedback (one per user per alert, changeable), mute 24 h, escalate; and the
review card's Share / Share with note… / Discard (`bot.review`).

Escalate queues an `escalation` message in the outbox (once per alert and target), which the
deliverer posts under the same rules as everything else; the person who clicked is told at once
if the restricted-situation rule forbids the target.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import access, review
from bot.outbox.enqueue import enqueue
from bot.render import Message, text_message
from bot.review import Decided, Decision, Outcome
from bot.slack.client import SLACK_FAILURES
from bot.slack.context import Services
from bot.store.db import session_scope
from bot.store.tables import (
    Feedback,
    Item,
    Match,
    MessageKind,
    OutboxMessage,
    ReviewDecision,
    Subscription,
)
from bot.subscriptions import audit, mute

log = logging.getLogger(__name__)
_PERMALINK_FAILURES: tuple[type[BaseException], ...] = (KeyError, *SLACK_FAILURES)


def record_feedback(services: Services, *, alert_id: int, user: str, relevant: bool) -> Message:
    """Store (or change) this user's verdict, with the alert's indicators and source."""
    for _ in range(2):  # two quick clicks racing on the unique (alert, user): retry as update
        try:
            with session_scope(services.engine) as session:
                alert = session.get(OutboxMessage, alert_id)
                if alert is None:
                    return text_message("action_missing.j2")
                changed = store_feedback(
                    session, alert=alert, user=user, relevant=relevant, now=services.clock()
                )
            return text_message("feedback.j2", relevant=relevant, changed=changed)
        except IntegrityError:
            continue
    return text_message("feedback.j2", relevant=relevant, changed=False)


def store_feedback(
    session: Session, *, alert: OutboxMessage, user: str, relevant: bool, now: datetime
) -> bool:
    """One user's feedback on one alert (or review card), in the caller's transaction: the
    Relevant / Not relevant buttons and a reviewer's Discard both record it here. Returns
    whether an earlier, different verdict was changed."""
    assert alert.id is not None
    match = session.get(Match, alert.match_id)
    item = session.get(Item, alert.item_id)
    query = select(Feedback).where(Feedback.alert_id == alert.id)
    row = session.exec(query.where(Feedback.user == user)).first()
    changed = row is not None and row.relevant != relevant
    if row is None:
        row = Feedback(alert_id=alert.id, user=user, relevant=relevant, situation=alert.situation)
    row.relevant = relevant
    row.situation = alert.situation
    row.source = (item.source if item else "")[:255]
    row.indicators = list(match.indicators) if match else []
    row.created_at = now
    session.add(row)
    return changed


def decide_review(
    services: Services,
    *,
    review_id: int,
    channel: str,
    user: str,
    decision: Decision,
    note: str | None = None,
) -> Decided:
    """A reviewer's Share or Discard (`bot.review.decide`); a Discard is also this reviewer's
    not-relevant feedback on the item, in the same transaction."""
    now = services.clock()
    with session_scope(services.engine) as session:
        decided = review.decide(
            session,
            review_id=review_id,
            channel=channel,
            user=user,
            decision=decision,
            now=now,
            note=note,
        )
        if decided.outcome == Outcome.DONE and decision == Decision.DISCARDED:
            card = session.get(OutboxMessage, review_id)
            assert card is not None
            store_feedback(session, alert=card, user=user, relevant=False, now=now)
    services.wake()
    return decided


def review_reply(decided: Decided) -> Message:
    """What the reviewer is told (ephemeral)."""
    return text_message(
        "review_decided.j2",
        outcome=decided.outcome,
        decision=decided.decision,
        released=len(decided.released),
    )


def review_error(decided: Decided) -> str:
    """The same answer as plain text (a modal shows errors without mrkdwn)."""
    if decided.decision is None:
        return "That review is not waiting in this channel; nothing was shared."
    return f"Already {decided.decision.decision} by another reviewer; nothing more was done."


def review_is_open(services: Services, *, review_id: int, channel: str) -> Decided | None:
    """None when the review waits in `channel`; else why not (for "Share with note…")."""
    with session_scope(services.engine) as session:
        card = session.get(OutboxMessage, review_id)
        if card is None or card.kind != MessageKind.REVIEW or card.channel != channel:
            return Decided(outcome=Outcome.UNKNOWN)
        decision = session.get(ReviewDecision, review_id)
    return None if decision is None else Decided(outcome=Outcome.ALREADY, decision=decision)


def mute_situation(services: Services, *, alert_id: int, user: str) -> Message:
    now = services.clock()
    with session_scope(services.engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        sub = session.get(Subscription, alert.subscription_id) if alert else None
        if sub is None:
            return text_message("action_missing.j2")
        until = mute(session, subscription=sub, actor=user, now=now)
        situation = services.settings.situation(sub.situation)
        name = situation.name if situation else sub.situation
    return text_message("muted.j2", user=user, name=name, until=until)


def escalate(
    services: Services,
    *,
    client: WebClient,
    alert_id: int,
    user: str,
    channel: str,
    message_ts: str | None,
) -> Message:
    """Queue the alert for the situation's escalation channel, linking back to the original."""
    with session_scope(services.engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        slug = alert.situation if alert is not None and alert.item_id is not None else None
    if slug is None:
        return text_message("action_missing.j2")
    situation = services.settings.situation(slug)
    if situation is None or situation.escalation_channel is None:
        return text_message("escalate.j2", outcome="no_channel", target=None)
    target = situation.escalation_channel
    ext_shared = services.channels.is_ext_shared(target) if access.needs_lookup(situation) else None
    refused = access.denial(situation, channel=target, ext_shared=ext_shared, escalation=True)
    if refused is not None:
        log.warning(
            "event=escalation_refused alert=%s target=%s reason=%s", alert_id, target, refused
        )
        return text_message("escalate.j2", outcome="refused", target=target)
    permalink = _permalink(client, channel=channel, message_ts=message_ts)
    now = services.clock()
    with session_scope(services.engine) as session:
        queued = enqueue(
            session,
            kind=MessageKind.ESCALATION,
            channel=target,
            situation=slug,
            now=now,
            dedupe_key=f"escalation:{alert_id}:{target}",
            parent_id=alert_id,
            severity=alert.severity if alert else None,
            payload={"user": user, "from_channel": channel, "permalink": permalink},
        )
        if queued.created:
            audit(
                session,
                actor=user,
                action="escalate",
                now=now,
                channel=channel,
                situation=slug,
                detail={"alert_id": alert_id, "to": target, "permalink": permalink},
            )
    services.wake()
    outcome = "done" if queued.created or queued.requeued else "already"
    return text_message("escalate.j2", outcome=outcome, target=target)


def _permalink(client: WebClient, *, channel: str, message_ts: str | None) -> str | None:
    if not message_ts:
        return None
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=message_ts)["permalink"])
    except _PERMALINK_FAILURES as exc:
        log.warning("event=permalink_failed channel=%s error=%r", channel, exc)
        return None
