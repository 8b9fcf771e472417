"""Reconciliation: an attempt of unknown outcome is looked up where it was posted, not re-sent.

Runs on SQLite and PostgreSQL against the mock Slack API (which keeps what it accepted).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.alerts import Deliverer, build_view
from bot.runtime import utc_now
from bot.slack.sink import SlackSink, make_client
from bot.store.db import session_scope
from bot.store.tables import Alert
from tests.reliability.outbox import channel_names, outbox_settings, seed_outbox
from tests.slack.mock_slack import MockSlack
from tests.test_outbox import Clock


def posts_per_alert(slack: MockSlack) -> Counter[int]:
    return Counter(m["metadata"]["event_payload"]["alert_id"] for m in slack.accepted())


def deliverer(engine: Engine, sink: SlackSink, clock: Clock, owner: str) -> Deliverer:
    return Deliverer(settings=outbox_settings(), engine=engine, sink=sink, clock=clock, owner=owner)


def test_a_post_that_went_out_before_its_story_had_a_thread_is_found_after_a_crash(
    engine: Engine, slack: MockSlack
) -> None:
    """B went out top-level, the process died; then A (same story) was delivered, so B's view now
    says "reply in A's thread". B must be found at the top level, where it was posted."""
    clock = Clock(utc_now())
    [first, second] = seed_outbox(
        engine, channels=channel_names(1), per_channel=2, now=clock(), story_size=2
    )
    sink = SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)
    crashed = deliverer(engine, sink, clock, owner="crashed")
    with session_scope(engine) as s:  # the crashed process claimed B only
        a = s.get(Alert, first)
        assert a is not None
        a.next_attempt_at = clock() + timedelta(seconds=1)
    assert crashed._claim() == [second]
    with session_scope(engine) as s:  # … recorded its intent and posted it (top level) …
        b = s.get(Alert, second)
        assert b is not None
        b.state, b.attempts = "sending", 1
        view = build_view(s, b, settings=outbox_settings())
    assert view.thread_ts is None
    sink.deliver(view)  # … and died before recording the answer
    clock.advance(seconds=2)
    restarted = deliverer(engine, sink, clock, owner="restarted")
    assert restarted.drain().delivered == 1  # A: B is still leased by the dead process
    clock.advance(minutes=3)
    assert restarted.drain().reconciled == 1
    assert posts_per_alert(slack) == Counter({first: 1, second: 1})
    with session_scope(engine) as s:
        b = s.get(Alert, second)
        assert b is not None and b.state == "delivered" and b.thread_ts is None
        assert b.message_ts == next(
            m["ts"]
            for m in slack.accepted()
            if m["metadata"]["event_payload"]["alert_id"] == second
        )


def test_a_post_that_timed_out_but_went_through_is_not_posted_again(engine: Engine) -> None:
    """Slack accepted the post but answered after the client's timeout: a RetryableError. The
    retry must look first."""
    slack = MockSlack(post_delay=(1.5, 1.5), realtime_ts=True)
    try:
        clock = Clock(utc_now())
        [alert_id] = seed_outbox(engine, channels=channel_names(1), per_channel=1, now=clock())
        client = make_client(token="xoxb-test", base_url=slack.base_url, timeout=1)
        sink = SlackSink(client=client, engine=engine, clock=clock)
        d = deliverer(engine, sink, clock, owner="d")
        assert d.drain().retried == 1
        slack.post_delay = (0.0, 0.0)
        clock.advance(minutes=5)
        assert d.drain().reconciled == 1
    finally:
        slack.close()
    assert posts_per_alert(slack) == Counter({alert_id: 1})
    with session_scope(engine) as s:
        assert [a.state for a in s.exec(select(Alert)).all()] == ["delivered"]
