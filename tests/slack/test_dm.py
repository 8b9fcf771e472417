"""Direct messages for individuals: `/tocsin subscribe <situation> dm`, end to end through signed
requests, conversations.open on the mock Slack and the outbox; restricted situations only for the
people in their `allowed_users`."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import Settings
from bot.store.db import session_scope
from bot.store.tables import ChannelState, MessageState, OutboxMessage, Subscription
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ALLOWED, PUBLIC, USER, mrkdwn_texts

DM = "D" + USER[1:]  # what the mock's conversations.open answers for USER
OTHER = "UOTHER01"


@pytest.fixture
def settings() -> Settings:
    return helpers.settings(
        situations=[
            {"slug": "sudan", "name": "Sudan", "countries": ["SDN"]},
            {
                "slug": "drc-east",
                "name": "Eastern DRC",
                "countries": ["COD"],
                "sensitivity": "restricted",
                "allowed_channels": [ALLOWED],
                "allowed_users": [USER],
            },
        ]
    )


def text_of(reply: dict) -> str:
    return str(reply["text"])


def subscription(engine: Engine, channel: str, situation: str) -> Subscription | None:
    with session_scope(engine) as session:
        return session.exec(
            select(Subscription)
            .where(Subscription.channel == channel)
            .where(Subscription.situation == situation)
        ).first()


def test_subscribe_dm_opens_a_dm_and_alerts_go_there(running: Running) -> None:
    running.command("subscribe sudan dm min:warning")
    reply = running.reply()
    assert reply["response_type"] == "ephemeral"
    assert "subscribed your direct messages to *Sudan*" in text_of(reply)
    (opened,) = running.slack.calls("conversations.open")
    assert opened.body["users"] == USER
    sub = subscription(running.engine, DM, "sudan")
    assert sub is not None and sub.active and sub.min_severity == "warning"
    assert sub.created_by == USER
    with session_scope(running.engine) as session:
        state = session.get(ChannelState, DM)
        assert state is not None and state.dm_user == USER
    alert_id = helpers.make_alert(running.engine, channel=DM, state="queued")
    assert running.deliver().delivered == 1
    (post,) = running.slack.calls("chat.postMessage")
    assert post.body["channel"] == DM
    running.command("subscribe list dm")
    listed = text_of(running.reply())
    assert "*Your direct messages follow:*" in listed and "*Sudan*" in listed
    running.command("subscribe list")  # the channel's own list is not the DM's
    assert "This channel follows no situations" in text_of(running.reply())
    assert len(running.slack.calls("conversations.open")) == 1  # the DM is remembered
    running.command("unsubscribe sudan dm")
    reply = running.reply()
    assert "unsubscribed your direct messages from *Sudan*" in text_of(reply)
    assert reply["response_type"] == "ephemeral"
    sub = subscription(running.engine, DM, "sudan")
    assert sub is not None and not sub.active
    with session_scope(running.engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        assert alert is not None and alert.state == MessageState.DELIVERED


def test_a_restricted_situation_goes_to_the_dm_of_an_allowed_user_only(running: Running) -> None:
    running.command("subscribe drc-east dm", channel=PUBLIC)  # visible to USER, who is allowed
    assert "subscribed your direct messages to *Eastern DRC*" in text_of(running.reply())
    running.command("subscribe drc-east dm", user=OTHER, channel=PUBLIC)  # invisible to others
    assert "I don't know a situation called `drc-east`" in text_of(running.reply())
    running.command("subscribe drc-east dm", user=OTHER, channel=ALLOWED)  # seen, not for a DM
    assert "direct messages go only to the people listed" in text_of(running.reply())
    assert subscription(running.engine, "D" + OTHER[1:], "drc-east") is None
    mine = helpers.make_alert(running.engine, channel=DM, situation="drc-east", state="queued")
    assert running.deliver().delivered == 1
    # a DM whose owner is not allowed (say, removed from allowed_users since) gets nothing
    theirs = helpers.make_alert(
        running.engine, channel="D" + OTHER[1:], situation="drc-east", state="queued", guid="x"
    )
    running.deliver()
    with session_scope(running.engine) as session:
        refused = session.get(OutboxMessage, theirs)
        assert refused is not None and refused.state == MessageState.WITHHELD
        assert "allowed_users" in (refused.last_error or "")
        delivered = session.get(OutboxMessage, mine)
        assert delivered is not None and delivered.state == MessageState.DELIVERED
    assert [c.body["channel"] for c in running.slack.calls("chat.postMessage")] == [DM]


def test_slack_refusing_to_open_a_dm_is_a_clear_answer(running: Running) -> None:
    running.slack.on("conversations.open", body={"ok": False, "error": "cannot_dm_bot"})
    running.command("subscribe sudan dm")
    assert "Slack would not open a direct message with you" in text_of(running.reply())
    with session_scope(running.engine) as session:
        assert session.exec(select(Subscription).where(Subscription.origin == "slack")).all() == []


def test_app_home_lists_the_users_dm_subscriptions(running: Running) -> None:
    running.command("subscribe sudan dm")
    running.reply()
    body = helpers.event_body(
        {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"}
    )
    assert helpers.post(running.events_url, body, content_type="application/json").status == 200
    (call,) = running.slack.wait_for("views.publish")
    texts = "\n".join(mrkdwn_texts(call.body["view"]["blocks"]))
    assert "a direct message: *Sudan*" in texts


def test_quiet_hours_snoozes_and_time_zone_of_direct_messages(running: Running) -> None:
    """`… dm` after quiet, timezone, mute and unmute: the user's direct messages get their own,
    answered privately; the channel, which follows the same situation, keeps its own."""
    for command in ("subscribe sudan dm", "subscribe sudan"):
        running.command(command)
        running.reply()
    running.command("timezone Africa/Nairobi dm")  # T0 is 12:00 UTC, 15:00 in Nairobi
    reply = running.reply()
    assert reply["response_type"] == "ephemeral"
    assert "set your direct messages' time zone to *Africa/Nairobi*" in text_of(reply)
    running.command("quiet 14:00-16:00 dm")
    reply = running.reply()
    assert reply["response_type"] == "ephemeral"
    assert "set your direct messages' quiet hours to *14:00-16:00* (Africa/Nairobi)" in (
        text_of(reply)
    )
    running.command("quiet")  # the channel's own: none
    assert "This channel has no quiet hours" in text_of(running.reply())
    held = helpers.make_alert(running.engine, channel=DM, state="queued", guid="dm")
    sent = helpers.make_alert(running.engine, channel=PUBLIC, state="queued", guid="channel")
    report = running.deliver()
    assert (report.held, report.delivered) == (1, 1)
    assert [c.body["channel"] for c in running.slack.calls("chat.postMessage")] == [PUBLIC]
    with session_scope(running.engine) as session:
        states = {i: session.get(OutboxMessage, i) for i in (held, sent)}
        assert {i: row.state for i, row in states.items() if row} == {
            held: MessageState.HELD,
            sent: MessageState.DELIVERED,
        }
    running.command("mute sudan 3d dm")
    reply = running.reply()
    assert reply["response_type"] == "ephemeral"
    assert "muted *Sudan* in your direct messages until" in text_of(reply)
    dm_sub, channel_sub = (
        subscription(running.engine, DM, "sudan"),
        subscription(running.engine, PUBLIC, "sudan"),
    )
    assert dm_sub is not None and dm_sub.muted_until is not None
    assert channel_sub is not None and channel_sub.muted_until is None
    running.command("unmute sudan dm")
    assert "unmuted *Sudan* in your direct messages" in text_of(running.reply())
    running.command("mute drc-east dm", user=OTHER)  # not theirs to see, even by name
    assert "I don't know a situation called `drc-east`" in text_of(running.reply())
    running.command("mute drc-east dm")  # visible to USER, but their DMs do not follow it
    assert "your direct messages do not follow Eastern DRC" in text_of(running.reply())
