"""`/tocsin` via the real HTTP endpoint, signed like Slack signs it; replies via response_url."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.store.db import session_scope
from bot.store.tables import AuditLog, ChannelState, Feed, Subscription
from bot.subscriptions import sync_config_subscriptions
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ADMIN, ALLOWED, PUBLIC, SHARED, USER, assert_inert, mrkdwn_texts


def subs(running: Running) -> list[Subscription]:
    with session_scope(running.engine) as session:
        return list(session.exec(select(Subscription).order_by(Subscription.id)).all())


def audits(running: Running) -> list[AuditLog]:
    with session_scope(running.engine) as session:
        return list(session.exec(select(AuditLog).order_by(AuditLog.id)).all())


def text_of(reply: dict) -> str:
    texts = [reply["text"], *mrkdwn_texts(reply.get("blocks", []))]
    for t in texts:
        assert_inert(t, trusted_ids=frozenset({USER, ADMIN, PUBLIC, ALLOWED, SHARED}))
    return "\n".join(texts)


def test_subscribe_is_acked_at_once_stored_audited_and_announced(running: Running) -> None:
    started = time.monotonic()
    response = running.command("subscribe sudan")
    assert response.status == 200 and time.monotonic() - started < 3
    reply = running.reply()
    assert reply["response_type"] == "in_channel"
    assert f"<@{USER}> subscribed this channel to *Sudan*" in text_of(reply)
    (sub,) = subs(running)
    assert (sub.channel, sub.situation, sub.origin, sub.created_by) == (
        PUBLIC,
        "sudan",
        "slack",
        USER,
    )
    assert sub.alerts and sub.briefings and sub.min_severity == "watch" and sub.active
    (entry,) = audits(running)
    assert (entry.actor, entry.action, entry.channel, entry.situation) == (
        USER,
        "subscribe",
        PUBLIC,
        "sudan",
    )
    assert entry.at == helpers.T0


def test_subscribe_options(running: Running) -> None:
    running.command("subscribe myanmar alerts min:critical digest")
    assert "alerts from critical up (as a daily digest)" in text_of(running.reply())
    (sub,) = subs(running)
    assert (sub.alerts, sub.briefings, sub.min_severity, sub.digest) == (
        True,
        False,
        "critical",
        True,
    )


def test_subscribe_again_updates_and_audits_before(running: Running) -> None:
    running.command("subscribe sudan")
    running.reply()
    running.command("subscribe Sudan briefings")
    assert "updated this channel's subscription" in text_of(running.reply())
    (sub,) = subs(running)
    assert (sub.alerts, sub.briefings) == (False, True)
    assert audits(running)[-1].detail["before"]["alerts"] is True


def test_unsubscribe_survives_a_restart(running: Running, settings) -> None:
    with session_scope(running.engine) as session:
        sync_config_subscriptions(session, settings, now=helpers.T0)
    running.command("unsubscribe sudan")
    assert f"<@{USER}> unsubscribed this channel from *Sudan*" in text_of(running.reply())
    with session_scope(running.engine) as session:  # the next start-up
        assert sync_config_subscriptions(session, settings, now=helpers.T0) == 0
    (sub,) = subs(running)
    assert sub.active is False and sub.origin == "slack"
    assert [a.action for a in audits(running)] == ["subscribe", "unsubscribe"]
    assert audits(running)[0].actor == "config"


def test_subscribe_list(running: Running) -> None:
    running.command("subscribe sudan alerts")
    running.reply()
    running.command("subscribe list")
    text = text_of(running.reply())
    assert "*Sudan* (`sudan`) — alerts ≥ watch" in text
    assert f"set by <@{USER}>" in text


def test_situations_hides_restricted_ones_outside_allowed_channels(running: Running) -> None:
    running.command("situations")
    text = text_of(running.reply())
    assert "Sudan" in text and "Myanmar" in text and "DRC" not in text
    running.command("situations", channel=ALLOWED)
    assert "*Eastern DRC* — `drc-east` :lock: restricted" in text_of(running.reply())


def test_unknown_situation_gets_suggestions(running: Running) -> None:
    running.command("subscribe sudn")
    text = text_of(running.reply())
    assert "I don't know a situation called `sudn`" in text and "Did you mean `sudan`" in text
    assert subs(running) == []


def test_restricted_cannot_be_subscribed_outside_allowed_channels(running: Running) -> None:
    running.command("subscribe drc-east")
    text = text_of(running.reply())
    assert "I don't know a situation called `drc-east`" in text  # not even its existence
    assert "drc" not in text.split("called")[1].replace("`drc-east`", "")
    assert subs(running) == [] and audits(running) == []


def test_restricted_is_refused_in_ext_shared_channel_even_if_allowed(running: Running) -> None:
    running.slack.on(
        "conversations.info", body={"ok": True, "channel": {"id": SHARED, "is_ext_shared": True}}
    )
    running.command("subscribe drc-east", channel=SHARED)
    assert "shared with other organisations" in text_of(running.reply())
    assert subs(running) == []


def test_restricted_is_refused_when_slack_cannot_say(running: Running) -> None:
    running.slack.on("conversations.info", body={"ok": False, "error": "channel_not_found"})
    running.command("subscribe drc-east", channel=ALLOWED)
    assert "cannot be followed here" in text_of(running.reply())
    assert subs(running) == []


def test_restricted_from_allowed_unshared_channel(running: Running) -> None:
    running.command("subscribe drc-east", channel=ALLOWED)
    assert "subscribed this channel to *Eastern DRC*" in text_of(running.reply())
    assert [(s.channel, s.situation) for s in subs(running)] == [(ALLOWED, "drc-east")]
    with session_scope(running.engine) as session:
        assert session.get(ChannelState, ALLOWED).is_ext_shared is False


@pytest.mark.parametrize(
    ("typed", "echoed"),
    [
        ("&lt;!channel&gt;", "&lt;!channel&gt;"),  # as Slack sends it
        ("<!channel>", "&lt;!channel&gt;"),  # if it ever arrived raw
        ("&lt;@U0ADMIN&gt;", "&lt;@U0ADMIN&gt;"),
        ("&lt;http://evil.example|sudan&gt;", "&lt;http://evil.example|sudan&gt;"),
        ("a&amp;b", "a&amp;b"),
    ],
)
def test_injection_in_arguments_is_echoed_inert(running: Running, typed: str, echoed: str) -> None:
    running.command(f"subscribe {typed}")
    text = text_of(running.reply())
    assert f"called `{echoed}`" in text
    assert "&amp;lt;" not in text and "&amp;amp;" not in text
    assert subs(running) == []


def test_very_long_and_unicode_arguments(running: Running) -> None:
    running.command("subscribe " + "<!here>&" * 2000)
    text = text_of(running.reply())
    assert len(text) < 1000 and text.count("&lt;!here&gt;") >= 1
    running.command("summary Судан 🙂 30d")
    assert "called `Судан`" in text_of(running.reply())
    running.command("frobnicate <!everyone>")
    assert "`frobnicate`" in text_of(running.reply())
    running.command("subscribe sudan min:&lt;!here&gt;")
    assert "&lt;!here&gt;" in text_of(running.reply())
    assert subs(running) == []


def test_forged_signature_is_401_and_changes_nothing(running: Running) -> None:
    body = helpers.command_body("subscribe sudan", response_url=running.slack.response_url())
    forged = helpers.sign(body, timestamp=int(time.time()), secret="not-the-secret")
    response = helpers.post(running.events_url, body, signature=forged)
    assert response.status == 401
    time.sleep(0.2)
    assert running.slack.calls("response") == [] and subs(running) == [] and audits(running) == []


def test_stale_timestamp_is_401_and_changes_nothing(running: Running) -> None:
    body = helpers.command_body("subscribe sudan", response_url=running.slack.response_url())
    old = int(time.time()) - 6 * 60
    response = helpers.post(running.events_url, body, timestamp=old)  # correctly signed, but old
    assert response.status == 401
    time.sleep(0.2)
    assert running.slack.calls("response") == [] and subs(running) == []


def test_help(running: Running) -> None:
    running.command("")
    text = text_of(running.reply())
    assert "/tocsin subscribe <situation>" not in text  # the < > of the syntax are escaped
    assert "/tocsin subscribe &lt;situation&gt;" in text


def test_feeds_shows_health_and_details_only_to_admins(running: Running) -> None:
    with session_scope(running.engine) as session:
        session.add(
            Feed(
                name="Radio <b>X</b>",
                kind="rss",
                url="https://x.example/rss?a=1&b=2",
                consecutive_failures=3,
                last_error="HTTP 503 <!channel>",
            )
        )
        session.add(ChannelState(channel=PUBLIC, error="not_in_channel", error_at=helpers.T0))
        session.add(ChannelState(channel=ALLOWED, error="is_archived", error_at=helpers.T0))
    running.command("feeds")
    text = text_of(running.reply())
    assert "*Radio &lt;b&gt;X&lt;/b&gt;*" in text and "3 failures in a row" in text
    assert "HTTP 503" not in text and "x.example" not in text
    assert f"<#{PUBLIC}>: `not_in_channel`" in text and ALLOWED not in text
    running.command("feeds", user=ADMIN)
    text = text_of(running.reply())
    assert "`HTTP 503 &lt;!channel&gt;`" in text
    assert "<https://x.example/rss?a=1&amp;b=2|rss>" in text
    assert f"<#{ALLOWED}>: `is_archived`" in text


def test_summary(running: Running) -> None:
    now = helpers.T0
    helpers.make_alert(
        running.engine,
        title="Now <!here>",
        published=now - timedelta(days=1),
        indicators=("MASS_KILL", "HATE_SPEECH"),
    )
    helpers.make_alert(
        running.engine,
        title="Before",
        published=now - timedelta(days=10),
        indicators=("MASS_KILL",),
    )
    running.command("summary sudan 30d")
    text = text_of(running.reply())
    assert "*Sudan — last 30d*: 2 matching reports" in text
    running.command("summary sudan")
    text = text_of(running.reply())
    assert "*Sudan — last 7d*: 1 matching reports (1 in the 7d before)" in text
    assert ":new: *Hate Speech* 1 (was 0)" in text
    assert ":left_right_arrow: *Mass Kill* 1 (was 1)" in text
    assert "|Now &lt;!here&gt;>" in text
    assert "*Sources*: Radio Dabanga (1)" in text
    running.command("summary sudan 1y")
    assert "the period must be 1h, 24h, 7d or 30d" in text_of(running.reply())


def test_brief_posts_a_briefing_now(running: Running) -> None:
    running.command("brief sudan")  # bot.briefing.on_demand; see tests/briefing/test_on_demand.py
    text = text_of(running.reply())
    assert "A briefing on *Sudan* (the last 7 days) is on its way to this channel" in text


def test_restricted_summary_and_listing_are_hidden_in_ext_shared_channels(running: Running) -> None:
    running.slack.on(
        "conversations.info",
        body={"ok": True, "channel": {"id": SHARED, "is_ext_shared": True}},
        times=None,
    )
    running.command("situations", channel=SHARED)
    assert "DRC" not in text_of(running.reply())
    running.command("summary drc-east", channel=SHARED)
    assert "cannot be followed here" in text_of(running.reply())
    running.command("brief drc-east", channel=SHARED)
    assert "cannot be followed here" in text_of(running.reply())
