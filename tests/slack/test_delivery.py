"""The delivery engine against the mock Slack Web API: faults, stories as cards, the flood guard.

Every message here goes through the outbox, the policy and SlackSink over HTTP; Slack's faults
(5xx, 429, a channel archived or the bot removed mid-run) must each end in a clear, logged state,
with nothing lost and nothing posted twice; signed channel events bring blocked messages back.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.briefing.deliver import enqueue_briefing
from bot.briefing.schedule import Period
from bot.health import serve_health
from bot.metrics import Metrics, metrics_app
from bot.outbox.deliverer import Deliverer
from bot.outbox.rollup import make_rollups
from bot.slack.sink import SlackSink
from bot.store.db import session_scope
from bot.store.tables import (
    ChannelState,
    Item,
    MessageState,
    OutboxMessage,
    Subscription,
)
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import PUBLIC, T0, FakeClock, mrkdwn_texts
from tests.slack.mock_slack import MockSlack


def queue_alerts(
    engine: Engine, n: int, *, story: bool = False, severity: str = "warning", start: int = 0
) -> list[int]:
    """`n` queued alerts in PUBLIC (one story with `story`); ids in order."""
    ids = [
        helpers.make_alert(
            engine,
            title=f"Report {start + k} from El Fasher <!channel>",
            url=f"https://news.example.org/{start + k}",
            source=f"Source {start + k}",
            severity=severity,
            score=5.0 + k,
            state=MessageState.QUEUED,
            published=T0 - timedelta(minutes=30),
        )
        for k in range(n)
    ]
    if story:
        with session_scope(engine) as session:
            items = session.exec(
                select(Item).join(OutboxMessage, col(OutboxMessage.item_id) == col(Item.id))
            ).all()
            root = min(i.id or 0 for i in items)
            for item in items:
                item.cluster_id = root
    return ids


def rows(engine: Engine) -> dict[int, OutboxMessage]:
    with session_scope(engine) as session:
        return {r.id or 0: r for r in session.exec(select(OutboxMessage)).all()}


def posted_ids(slack: MockSlack) -> list[int]:
    return [m["metadata"]["event_payload"]["message_id"] for m in slack.accepted()]


def test_5xx_backs_off_then_posts_once_after_looking(running: Running, clock: FakeClock) -> None:
    [alert] = queue_alerts(running.engine, 1)
    running.slack.on("chat.postMessage", status=503, body="<html>unavailable</html>")
    assert running.deliver().retried == 1
    assert rows(running.engine)[alert].next_attempt_at == T0 + timedelta(seconds=30)
    clock.advance(timedelta(seconds=30))
    assert running.deliver().delivered == 1
    assert running.slack.calls("conversations.history")  # it looked before posting again
    assert posted_ids(running.slack) == [alert]


def test_429_pauses_the_channel_and_keeps_the_order(engine: Engine, clock: FakeClock) -> None:
    slack = MockSlack(ratelimit_every=3)
    try:
        settings = helpers.settings()
        sink = SlackSink(token="xoxb-t", base_url=slack.base_url, engine=engine, clock=clock)
        deliverer = Deliverer(settings=settings, engine=engine, sink=sink, clock=clock, owner="t")
        ids = queue_alerts(engine, 7)
        throttled = 0
        for _ in range(20):
            throttled += deliverer.drain().throttled
            clock.advance(timedelta(seconds=1))
        assert posted_ids(slack) == ids  # every one, once, in order
        assert throttled == len(slack.calls("chat.postMessage")) - len(ids) == 3
        with session_scope(engine) as session:
            assert all(r.attempts == 0 for r in session.exec(select(OutboxMessage)).all())
    finally:
        slack.close()


@pytest.mark.parametrize(
    ("code", "event"),
    [
        ("is_archived", {"type": "channel_unarchive", "channel": PUBLIC, "user": "U0ADMIN"}),
        ("not_in_channel", {"type": "member_joined_channel", "channel": PUBLIC, "user": "UBOT"}),
    ],
)
def test_a_channel_lost_mid_run_keeps_its_messages_until_it_is_fixed(
    running: Running, caplog: pytest.LogCaptureFixture, code: str, event: dict[str, str]
) -> None:
    ids = queue_alerts(running.engine, 5)
    running.slack.on("chat.postMessage", times=None, body={"ok": False, "error": code})
    first = running.slack.accepted()
    assert first == []
    report = running.deliver()
    assert report.blocked == 5
    assert {rows(running.engine)[i].state for i in ids} == {"blocked"}
    assert len(running.slack.calls("chat.postMessage")) == 1  # it stopped at the first refusal
    assert any(
        f"event=channel_blocked channel={PUBLIC} code={code}" in r.getMessage()
        for r in caplog.records
    )
    with session_scope(running.engine) as session:
        state = session.get(ChannelState, PUBLIC)
        assert state is not None and state.error == code
    # someone else joining is not the fix
    other = {"type": "member_joined_channel", "channel": PUBLIC, "user": "U0SOMEONE"}
    assert post_event(running, other).status == 200
    assert running.deliver().counts == {}
    running.slack._canned.clear()  # Slack accepts posts there again …
    assert post_event(running, event).status == 200  # … and says so
    wait_for_state(running.engine, ids[0], "queued")
    assert running.deliver().delivered == 5
    assert posted_ids(running.slack) == ids  # in order, once each


def post_event(running: Running, event: dict[str, str]) -> helpers.Response:
    return helpers.post(
        running.events_url, helpers.event_body(event), content_type="application/json"
    )


def wait_for_state(engine: Engine, message_id: int, state: str) -> None:
    """Bolt acks events at once and runs the listener after: wait for its effect."""
    import time

    deadline = time.monotonic() + 10
    while rows(engine)[message_id].state != state:
        assert time.monotonic() < deadline, f"message {message_id} never became {state}"
        time.sleep(0.01)


def test_briefings_obey_blocked_channels_like_alerts(running: Running) -> None:
    with session_scope(running.engine) as session:
        session.add(ChannelState(channel=PUBLIC, error="not_in_channel", error_at=T0))
        sudan = helpers.settings().situation("sudan")
        assert sudan is not None
        queued = enqueue_briefing(
            session,
            channel=PUBLIC,
            situation=sudan,
            period=Period(start=T0 - timedelta(days=7), end=T0),
            now=T0,
        )
    assert running.deliver().blocked == 1
    assert not running.slack.calls("chat.postMessage")
    post_event(running, {"type": "member_joined_channel", "channel": PUBLIC, "user": "UBOT"})
    wait_for_state(running.engine, queued.id, "queued")
    assert running.deliver().delivered == 1


def test_a_story_is_one_card_with_compact_replies(running: Running) -> None:
    root, *later = queue_alerts(running.engine, 3, story=True)
    running.deliver()
    accepted = running.slack.accepted()
    assert [m["metadata"]["event_payload"]["message_id"] for m in accepted] == [root, *later]
    card, *replies = accepted
    assert "thread_ts" not in card and card["blocks"][-1]["type"] == "actions"
    for reply in replies:
        assert reply["thread_ts"] == card["ts"]
        assert all(b["type"] != "actions" for b in reply["blocks"])  # no repeated buttons
        assert len(reply["blocks"]) == 1  # source, title, link: one line
    (update,) = running.slack.updates()  # the first card update was superseded by the second
    assert update["ts"] == card["ts"]
    texts = "\n".join(mrkdwn_texts(running.slack.accepted()[0]["blocks"]))
    assert "3 sources · 3 reports · latest: <https://news.example.org/2|Report 2" in texts
    assert "&lt;!channel&gt;" in texts and "<!channel>" not in texts
    # a rise to critical: announced once in the channel, and the card says so
    [rise] = queue_alerts(running.engine, 1, severity="critical", start=3)
    [again] = queue_alerts(running.engine, 1, severity="critical", start=4)
    with session_scope(running.engine) as session:
        for alert_id in (rise, again):
            item = session.get(Item, session.get(OutboxMessage, alert_id).item_id)  # type: ignore[union-attr]
            item.cluster_id = session.get(OutboxMessage, root).item_id  # type: ignore[union-attr]
    running.deliver()
    broadcast = [m for m in running.slack.accepted() if m.get("reply_broadcast")]
    assert [m["metadata"]["event_payload"]["message_id"] for m in broadcast] == [rise]
    history = running.slack._history("conversations.history", {"channel": PUBLIC})["messages"]
    assert len(history) == 2  # the card and the one broadcast reply, nothing else
    header = running.slack.accepted()[0]["blocks"][0]["text"]["text"]
    assert header == ":rotating_light: CRITICAL · Sudan"


def test_a_flood_is_held_rolled_up_and_counted(engine: Engine, slack: MockSlack) -> None:
    clock = FakeClock(T0.replace(minute=10))  # 12:10, the alerts came at 11:30
    settings = helpers.settings(alerts={"channel_hourly_cap": 3})
    metrics = Metrics()
    sink = SlackSink(token="xoxb-t", base_url=slack.base_url, engine=engine, clock=clock)
    deliverer = Deliverer(
        settings=settings, engine=engine, sink=sink, clock=clock, owner="t", metrics=metrics
    )
    ids = queue_alerts(engine, 17)
    [urgent] = queue_alerts(engine, 1, severity="critical", start=17)
    deliverer.drain()
    states = Counter(rows(engine)[i].state for i in ids)
    assert states == Counter({"delivered": 3, "held": 14})
    assert rows(engine)[urgent].state == "delivered"  # critical breaks through
    assert make_rollups(engine, now=clock(), metrics=metrics) == 0  # the hour is not over
    clock.advance(timedelta(hours=1))
    assert make_rollups(engine, now=clock(), metrics=metrics) == 1
    assert make_rollups(engine, now=clock(), metrics=metrics) == 0  # once
    assert deliverer.drain().delivered == 1
    rollup = slack.accepted()[-1]
    text = "\n".join(mrkdwn_texts(rollup["blocks"]))
    assert "*14 more reports for Sudan in the last hour*" in text
    assert "this channel gets at most 3 alerts an hour" in text
    assert text.count("• ") == 5 and "…and 9 more: `/tocsin summary sudan 24h`" in text
    assert "<https://news.example.org/16|Report 16" in text  # the highest score first
    assert {rows(engine)[i].state for i in ids[3:]} == {"rolled_up"}
    server = serve_health(
        engine=engine,
        clock=clock,
        routes={"/metrics": metrics_app(metrics, engine=engine, clock=clock)},
        host="127.0.0.1",
        port=0,
    )
    try:
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
            scraped = response.read().decode()
    finally:
        server.shutdown()
    for line in (
        'tocsin_alerts_total{event="held"} 14.0',
        'tocsin_alerts_total{event="rolled_up"} 14.0',
        'tocsin_alerts_total{event="broken_through"} 1.0',
        'tocsin_messages_total{event="delivered",kind="rollup"} 1.0',
        "tocsin_outbox_held 0.0",
    ):
        assert line in scraped, line


def test_the_summary_lists_what_the_flood_guard_held_back(running: Running) -> None:
    with session_scope(running.engine) as session:
        session.add(Subscription(channel=PUBLIC, situation="sudan", created_at=T0))
    ids = queue_alerts(running.engine, 25)
    with session_scope(running.engine) as session:
        for row in session.exec(select(OutboxMessage)).all():
            row.state = MessageState.HELD if row.id in ids[20:] else row.state
    running.command("summary sudan 24h")
    text = "\n".join(mrkdwn_texts(running.reply()["blocks"]))
    assert "*Held back by the flood guard in this channel* (5 reports" in text
    for n in range(20, 25):
        assert f"|Report {n} from El Fasher" in text
    assert json.dumps(text).count("held.example") == 0
