"""Channel events that end a delivery problem: the bot invited back, a channel unarchived.

When Slack refuses a channel (`not_in_channel`, `is_archived` …), the deliverer marks it blocked
and its messages wait in state `blocked`. These events clear the channel's error and queue those
messages again, in their original order: nothing is lost while a person fixes the channel.
"""

from __future__ import annotations

import logging

from bot.outbox.facts import unblock_channel
from bot.slack.context import Services
from bot.store.db import session_scope
from bot.subscriptions import audit

log = logging.getLogger(__name__)


def channel_fixed(services: Services, *, channel: str, why: str) -> int:
    """Unblock `channel` and queue its blocked messages again; returns how many."""
    now = services.clock()
    with session_scope(services.engine) as session:
        queued = unblock_channel(session, channel, now=now)
        audit(
            session,
            actor="slack",
            action="unblock",
            now=now,
            channel=channel,
            detail={"why": why, "requeued": queued},
        )
    log.info("event=channel_unblocked channel=%s why=%s requeued=%d", channel, why, queued)
    services.wake()
    return queued
