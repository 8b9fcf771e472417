"""Daily digest: one message with the held-back alerts, marked so nothing is listed twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.briefing.schedule import Schedule, latest_run, period_ending
from bot.digest import enqueue_digest
from bot.outbox.deliverer import Deliverer
from bot.outbox.enqueue import Enqueued
from bot.store.db import session_scope
from bot.store.tables import MessageKind, MessageState, OutboxMessage
from tests.briefing import builders
from tests.slack.helpers import assert_inert, mrkdwn_texts
from tests.slack.mock_slack import MockSlack

SETTINGS = builders.settings()
SUDAN = SETTINGS.situation("sudan")
assert SUDAN is not None
DAILY = Schedule(time="08:00", timezone="Africa/Nairobi")
NOW = builders.MONDAY
PERIOD = period_ending(DAILY, latest_run(DAILY, NOW))


def digest(engine: Engine) -> Enqueued:
    with session_scope(engine) as session:
        return enqueue_digest(
            session, channel=builders.CHANNEL, situation=SUDAN, period=PERIOD, now=NOW
        )


def outbox(engine: Engine) -> dict[int, OutboxMessage]:
    with session_scope(engine) as session:
        return {a.id: a for a in session.exec(select(OutboxMessage)).all() if a.id is not None}


def test_digest_posts_once_and_marks_its_alerts(
    engine: Engine, slack: MockSlack, deliverer: Deliverer
) -> None:
    sub = builders.subscription(engine, digest=True)
    held = [
        builders.digest_alert(engine, subscription_id=sub, created=PERIOD.end - timedelta(hours=h))
        for h in (1, 5, 30)  # 30 h: left behind by an outage, still collected once
    ]
    late = builders.digest_alert(engine, subscription_id=sub, created=PERIOD.end)
    sent = builders.digest_alert(
        engine,
        subscription_id=sub,
        created=PERIOD.end - timedelta(hours=2),
        state=MessageState.DELIVERED,
    )
    queued = digest(engine)
    assert deliverer.drain().delivered == 1
    (post,) = slack.calls("chat.postMessage")
    assert "Daily digest — Sudan" in post.body["blocks"][0]["text"]["text"]
    assert "*3* alert(s)" in post.body["blocks"][1]["text"]["text"]
    for text in mrkdwn_texts(post.body["blocks"]):
        assert_inert(text)
    rows = outbox(engine)
    ts = rows[queued.id].message_ts
    assert ts == slack.accepted()[0]["ts"]
    assert {rows[i].state for i in held} == {"digested"}
    assert {(rows[i].message_ts, rows[i].parent_id) for i in held} == {(ts, queued.id)}
    assert rows[late].state == "digest" and rows[sent].state == "delivered"
    assert not digest(engine).created
    deliverer.drain()
    assert len(slack.calls("chat.postMessage")) == 1
    assert rows[queued.id].kind == MessageKind.DIGEST
    assert (rows[queued.id].period_start, rows[queued.id].state) == (PERIOD.start, "delivered")


def test_no_alerts_no_message(engine: Engine, slack: MockSlack, deliverer: Deliverer) -> None:
    queued = digest(engine)
    assert deliverer.drain().skipped == 1
    assert not slack.calls("chat.postMessage")
    assert outbox(engine)[queued.id].state == "skipped"
    assert not digest(engine).created
