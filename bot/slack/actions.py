"""Alert buttons: feedback (one per user per alert, changeable), mute 24 h, escalate; and the
review card's Share / Share with note… / Discard (`bot.review`).

Escalate queues an `escalation` message in the outbox (once per alert and target), which the
deliverer posts under the same rules as everything else; the person who clicked is told at once
if the restricted-situation rule forbids the target.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError

from bot import access, feedback, review
from bot.outbox.enqueue import enqueue
from bot.render import Message, text_message
from bot.review import Decided, Decision, Outcome
from bot.slack.client import SLACK_FAILURES
from bot.slack.context import Services
from bot.store.db import session_scope
from bot.store.tables import MessageKind, OutboxMessage, ReviewDecision, Subscription
from bot.subscriptions import audit, mute

log = logging.getLogger(__name__)
_PERMALINK_FAILURES: tuple[type[BaseException], ...] = (KeyError, *SLACK_FAILURES)


def record_feedback(services: Services, *, alert_id: int, user: str, relevant: bool) -> Message:
    """Store (or change) this user's vote, with the evidence behind the alert (`bot.feedback`)."""
    for _ in range(2):  # two quick clicks racing on the unique (alert, user): retry as update
        try:
            with session_scope(services.engine) as session:
                recorded = feedback.record(
                    session,
                    alert_id=alert_id,
                    user=user,
                    relevant=relevant,
                    origin=feedback.Origin.BUTTON,
                    now=services.clock(),
                )
            if recorded is None:
                return text_message("action_missing.j2")
            return text_message("feedback.j2", relevant=relevant, changed=recorded.changed)
        except IntegrityError:
            continue
    return text_message("feedback.j2", relevant=relevant, changed=False)


def decide_review(
    services: Services,
    *,
    review_id: int,
    channel: str,
    user: str,
    decision: Decision,
    note: str | None = None,
) -> Decided:
    """A reviewer's Share or Discard (`bot.review.decide`), which is also this reviewer's vote
    on the item (Share: relevant, Discard: not relevant; `bot.feedback`, origin `review`), in
    the same transaction."""
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
        if decided.outcome == Outcome.DONE:
            feedback.record(
                session,
                alert_id=review_id,
                user=user,
                relevant=decision == Decision.SHARED,
                origin=feedback.Origin.REVIEW,
                now=now,
            )
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
        dm = access.is_direct(sub.channel)
    return text_message("muted.j2", user=user, name=name, until=until, dm=dm)


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
