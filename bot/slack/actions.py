"""Alert buttons: feedback (one per user per alert, changeable), mute 24 h, escalate."""

from __future__ import annotations

import dataclasses
import logging

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.alerts import build_view
from bot.render import Message, part, text_message
from bot.slack.blocks import alert_message
from bot.slack.context import Services
from bot.slack.sink import SLACK_FAILURES, post_message
from bot.store.db import session_scope
from bot.store.tables import Alert, Feedback, Item, Match, Subscription
from bot.subscriptions import audit, mute

log = logging.getLogger(__name__)
_PERMALINK_FAILURES: tuple[type[BaseException], ...] = (KeyError, *SLACK_FAILURES)


def record_feedback(services: Services, *, alert_id: int, user: str, relevant: bool) -> Message:
    """Store (or change) this user's verdict, with the alert's indicators and source."""
    for _ in range(2):  # two quick clicks racing on the unique (alert, user): retry as update
        try:
            with session_scope(services.engine) as session:
                alert = session.get(Alert, alert_id)
                if alert is None:
                    return text_message("action_missing.j2")
                match = session.get(Match, alert.match_id)
                item = session.get(Item, alert.item_id)
                query = select(Feedback).where(Feedback.alert_id == alert_id)
                row = session.exec(query.where(Feedback.user == user)).first()
                changed = row is not None and row.relevant != relevant
                if row is None:
                    row = Feedback(
                        alert_id=alert_id, user=user, relevant=relevant, situation=alert.situation
                    )
                row.relevant = relevant
                row.situation = alert.situation
                row.source = (item.source if item else "")[:255]
                row.indicators = list(match.indicators) if match else []
                row.created_at = services.clock()
                session.add(row)
            return text_message("feedback.j2", relevant=relevant, changed=changed)
        except IntegrityError:
            continue
    return text_message("feedback.j2", relevant=relevant, changed=False)


def mute_situation(services: Services, *, alert_id: int, user: str) -> Message:
    now = services.clock()
    with session_scope(services.engine) as session:
        alert = session.get(Alert, alert_id)
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
    """Re-post the alert to the situation's escalation channel, linking back to the original."""
    with session_scope(services.engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return text_message("action_missing.j2")
        situation = services.settings.situation(alert.situation)
        view = build_view(session, alert, settings=services.settings)
    if situation is None or situation.escalation_channel is None:
        return text_message("escalate.j2", outcome="no_channel", target=None)
    target = situation.escalation_channel
    restricted = situation.sensitivity == "restricted"
    if not services.channels.may_post(target, restricted=restricted):
        log.warning(
            "event=escalation_refused alert=%s target=%s reason=ext_shared", alert_id, target
        )
        return text_message("escalate.j2", outcome="refused", target=target)
    permalink = _permalink(client, channel=channel, message_ts=message_ts)
    note = part("alert.j2", "escalated", user_id=user, channel_id=channel, permalink=permalink)
    view = dataclasses.replace(view, channel=target, thread_ts=None)
    try:
        post_message(client, channel=target, message=alert_message(view, actions=False, note=note))
    except SLACK_FAILURES as exc:
        log.error("event=escalation_failed alert=%s target=%s error=%r", alert_id, target, exc)
        return text_message("escalate.j2", outcome="failed", target=target)
    with session_scope(services.engine) as session:
        audit(
            session,
            actor=user,
            action="escalate",
            now=services.clock(),
            channel=channel,
            situation=alert.situation,
            detail={"alert_id": alert_id, "to": target, "permalink": permalink},
        )
    return text_message("escalate.j2", outcome="done", target=target)


def _permalink(client: WebClient, *, channel: str, message_ts: str | None) -> str | None:
    if not message_ts:
        return None
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=message_ts)["permalink"])
    except _PERMALINK_FAILURES as exc:
        log.warning("event=permalink_failed channel=%s error=%r", channel, exc)
        return None
