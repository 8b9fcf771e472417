"""Reconciliation: an attempt of unknown outcome is looked up where it was posted, not re-sent.

Runs on SQLite and PostgreSQL against the mock Slack API (which keeps what it accepted).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.outbox.deliverer import Deliverer
from bot.outbox.views import build_view
from bot.runtime import utc_now
from bot.sinks import Post
from bot.slack.blocks import alert_message
from bot.slack.client import delivery_client
from bot.slack.sink import SlackSink
from bot.store.db import session_scope
from bot.store.tables import MessageKind, MessageState, OutboxMessage
from tests.reliability.outbox import channel_names, outbox_settings, seed_outbox
from tests.slack.mock_slack import MockSlack
from tests.test_outbox import Clock


def posts_per_message(slack: MockSlack) -> Counter[int]:
    return Counter(m["metadata"]["event_payload"]["message_id"] for m in slack.accepted())


def deliverer(engine: Engine, sink: SlackSink, clock: Clock, owner: str) -> Deliverer:
    return Deliverer(settings=outbox_settings(), engine=engine, sink=sink, clock=clock, owner=owner)


def test_a_post_is_looked_up_where_its_attempt_posted_it(engine: Engine, slack: MockSlack) -> None:
    """B's attempt went out at the top level (as a root card) and the process died. Since then
    its story got a root in the channel; B must still be found at the top level, where it was
    posted, and not become a reply posted a second time."""
    clock = Clock(utc_now())
    [first, second] = seed_outbox(
        engine, channels=channel_names(1), per_channel=2, now=clock(), story_size=2
    )
    sink = SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)
    assert deliverer(engine, sink, clock, owner="a").deliver_one(_claimed(engine, first)) == (
        "delivered"
    )
    with session_scope(engine) as s:  # B's attempt: intent recorded as a root card, posted …
        b = s.get(OutboxMessage, second)
        assert b is not None
        b.state, b.attempts, b.lease_owner = MessageState.SENDING, 1, "crashed"
        b.lease_expires_at = clock() + timedelta(seconds=15)
        message = alert_message(build_view(s, b, settings=outbox_settings()))
    sink.post(Post(message_id=second, part=0, channel=b.channel, text=message.text))
    clock.advance(seconds=16)  # … and the process died before recording the answer
    restarted = deliverer(engine, sink, clock, owner="restarted")
    assert restarted.drain().reconciled == 1
    assert posts_per_message(slack) == Counter({first: 1, second: 1})
    with session_scope(engine) as s:
        b = s.get(OutboxMessage, second)
        assert b is not None and b.state == "delivered" and b.thread_ts is None
        assert b.kind == MessageKind.ALERT
        assert b.message_ts == slack.accepted()[1]["ts"]


def _claimed(engine: Engine, message_id: int) -> int:
    with session_scope(engine) as s:
        row = s.get(OutboxMessage, message_id)
        assert row is not None
        row.lease_owner, row.lease_expires_at = "a", utc_now() + timedelta(minutes=1)
    return message_id


@pytest.mark.parametrize("answer", ["late", "unreadable"])
def test_a_post_that_went_through_without_a_usable_answer_is_not_posted_again(
    engine: Engine, answer: str
) -> None:
    """Slack accepted the post but answered after the client's timeout, or with a body that is
    not JSON: a RetryableError. The retry must look first."""
    slack = MockSlack(post_delay=(1.5, 1.5) if answer == "late" else (0, 0), realtime_ts=True)
    try:
        clock = Clock(utc_now())
        [alert_id] = seed_outbox(engine, channels=channel_names(1), per_channel=1, now=clock())
        if answer == "unreadable":  # accepted (kept in history), answered with a proxy page
            slack.garble()
        client = delivery_client(token="xoxb-test", base_url=slack.base_url, timeout=1)
        sink = SlackSink(client=client, engine=engine, clock=clock)
        d = deliverer(engine, sink, clock, owner="d")
        assert d.drain().retried == 1
        slack.post_delay = (0.0, 0.0)
        clock.advance(minutes=5)
        assert d.drain().reconciled == 1
    finally:
        slack.close()
    assert posts_per_message(slack) == Counter({alert_id: 1})
    with session_scope(engine) as s:
        assert [a.state for a in s.exec(select(OutboxMessage)).all()] == ["delivered"]
