"""Briefing day, time and channel time zone set with `/tocsin`, through the real HTTP endpoint."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.briefing.jobs import load_plan
from bot.briefing.schedule import next_run
from bot.config import Settings
from bot.store.db import session_scope
from bot.store.tables import AuditLog, ChannelState, Subscription
from bot.subscriptions import sync_config_subscriptions
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ADMIN, ALLOWED, PUBLIC, SHARED, T0, USER, assert_inert, mrkdwn_texts


def subs(running: Running) -> list[Subscription]:
    with session_scope(running.engine) as session:
        return list(session.exec(select(Subscription).order_by(Subscription.id)).all())


def audits(running: Running) -> list[AuditLog]:
    with session_scope(running.engine) as session:
        return list(session.exec(select(AuditLog).order_by(AuditLog.id)).all())


def channel_zone(running: Running, channel: str = PUBLIC) -> str | None:
    with session_scope(running.engine) as session:
        state = session.get(ChannelState, channel)
        return None if state is None else state.timezone


def ask(running: Running, text: str, **kwargs: str) -> tuple[dict, str]:
    running.command(text, **kwargs)
    reply = running.reply()
    texts = [reply["text"], *mrkdwn_texts(reply.get("blocks", []))]
    for t in texts:
        assert_inert(t, trusted_ids=frozenset({USER, ADMIN, PUBLIC, ALLOWED, SHARED}))
    return reply, "\n".join(texts)


def test_subscribe_with_a_briefing_day_and_time(running: Running) -> None:
    reply, text = ask(running, "subscribe sudan briefings at:wed-14:30")
    assert reply["response_type"] == "in_channel"
    assert "weekly briefings every Wed at 14:30 (UTC)" in text
    (sub,) = subs(running)
    assert (sub.briefings, sub.alerts, sub.briefing_weekday, sub.briefing_time) == (
        True,
        False,
        "wed",
        "14:30",
    )
    (entry,) = audits(running)
    assert (entry.actor, entry.action, entry.channel, entry.situation, entry.at) == (
        USER,
        "subscribe",
        PUBLIC,
        "sudan",
        T0,
    )
    assert entry.detail["options"]["briefing_weekday"] == "wed"
    assert entry.detail["options"]["briefing_time"] == "14:30"


def test_a_time_alone_keeps_the_day_and_no_at_keeps_both(running: Running) -> None:
    ask(running, "subscribe sudan at:fri-07:00")
    _, text = ask(running, "subscribe sudan briefings AT:9:05")
    assert "every Fri at 09:05" in text
    ask(running, "subscribe sudan min:warning")
    (sub,) = subs(running)
    assert (sub.briefing_weekday, sub.briefing_time, sub.min_severity) == (
        "fri",
        "09:05",
        "warning",
    )
    assert (sub.alerts, sub.briefings) == (True, True)
    before = [a.detail["before"] for a in audits(running)]
    assert before[0] is None
    assert (before[1]["briefing_weekday"], before[1]["briefing_time"]) == ("fri", "07:00")
    assert before[2]["briefing_time"] == "09:05"


def test_a_time_alone_on_a_new_subscription_keeps_the_default_day(running: Running) -> None:
    _, text = ask(running, "subscribe myanmar briefings at:18:00")
    assert "every Mon at 18:00 (UTC)" in text
    (sub,) = subs(running)
    assert (sub.briefing_weekday, sub.briefing_time) == (None, "18:00")


@pytest.mark.parametrize(
    ("args", "echoed"),
    [
        ("at:monday-09:00", "at:monday-09:00"),
        ("at:25:00", "at:25:00"),
        ("at:wed-9", "at:wed-9"),
        ("at:xyz-10:00", "at:xyz-10:00"),
        ("at:", "at:"),
        ("at:&lt;!channel&gt;", "at:&lt;!channel&gt;"),  # as Slack sends it
        ("at:<!here>", "at:&lt;!here&gt;"),  # if it ever arrived raw
    ],
)
def test_an_invalid_time_is_explained_escaped_and_changes_nothing(
    running: Running, settings: Settings, args: str, echoed: str
) -> None:
    with session_scope(running.engine) as session:
        sync_config_subscriptions(session, settings, now=T0)
    before = subs(running)
    _, text = ask(running, f"subscribe sudan briefings {args}")
    assert f"I don't understand '{echoed}'" in text and "at:mon-09:00" in text
    assert "&amp;lt;" not in text
    assert [(s.briefing_weekday, s.briefing_time, s.briefings) for s in subs(running)] == [
        (s.briefing_weekday, s.briefing_time, s.briefings) for s in before
    ]
    assert [a.action for a in audits(running)] == ["subscribe"]  # the config's, nothing more


def test_at_with_alerts_only_is_refused(running: Running) -> None:
    _, text = ask(running, "subscribe sudan alerts at:mon-09:00")
    assert "add `briefings`" in text
    assert subs(running) == [] and audits(running) == []


def test_timezone_set_show_stored_and_audited(running: Running) -> None:
    _, text = ask(running, "timezone")
    assert "no time zone of its own" in text and "*UTC*" in text
    reply, text = ask(running, "timezone africa/nairobi")
    assert reply["response_type"] == "in_channel"
    assert f"<@{USER}> set this channel's time zone to *Africa/Nairobi*" in text
    assert channel_zone(running) == "Africa/Nairobi"
    (entry,) = audits(running)
    assert (entry.actor, entry.action, entry.channel, entry.at) == (USER, "timezone", PUBLIC, T0)
    assert entry.detail == {"before": None, "after": "Africa/Nairobi", "cleared": {}}
    ask(running, "subscribe sudan briefings at:tue-08:00")
    reply, text = ask(running, "timezone")
    assert reply["response_type"] == "ephemeral"
    assert "This channel's time zone is *Africa/Nairobi*" in text
    assert "*Sudan* — every Tue at 08:00 Africa/Nairobi" in text
    _, text = ask(running, "timezone Europe/London")
    assert "(was Africa/Nairobi)" in text
    assert audits(running)[-1].detail["before"] == "Africa/Nairobi"
    assert channel_zone(running) == "Europe/London"
    assert channel_zone(running, ALLOWED) is None  # only this channel


@pytest.mark.parametrize(
    ("typed", "echoed", "suggested"),
    [
        ("Nairobi", "Nairobi", "Africa/Nairobi"),
        ("Europe/Londn", "Europe/Londn", "Europe/London"),
        ("America/NewYork", "America/NewYork", "America/New_York"),
        ("Mars/Olympus_Mons", "Mars/Olympus_Mons", None),
        ("../../etc/passwd", "../../etc/passwd", None),
        ("&lt;!channel&gt;", "&lt;!channel&gt;", None),
        ("<@UADMIN01>", "&lt;@UADMIN01&gt;", None),
    ],
)
def test_an_unknown_time_zone_is_explained_escaped_and_changes_nothing(
    running: Running, typed: str, echoed: str, suggested: str | None
) -> None:
    reply, text = ask(running, f"timezone {typed}")
    assert reply["response_type"] == "ephemeral"
    assert f"I don't know a time zone called `{echoed}`; nothing was changed" in text
    if suggested:
        assert f"Did you mean `{suggested}`" in text
    else:
        assert "IANA name such as `Africa/Nairobi`" in text
    assert "&amp;lt;" not in text
    assert channel_zone(running) is None and audits(running) == []


def test_timezone_takes_one_name(running: Running) -> None:
    _, text = ask(running, "timezone Africa/Nairobi Europe/London")
    assert "name one time zone" in text
    assert channel_zone(running) is None and audits(running) == []


def test_the_channel_zone_replaces_a_config_subscription_zone(running: Running) -> None:
    settings = helpers.settings(
        subscriptions=[{"channel": PUBLIC, "situations": ["sudan"], "timezone": "Asia/Tokyo"}]
    )
    with session_scope(running.engine) as session:
        sync_config_subscriptions(session, settings, now=T0)
    _, text = ask(running, "timezone")
    assert "every Mon at 09:00 Asia/Tokyo (its own time zone, from the configuration)" in text
    _, text = ask(running, "timezone Africa/Nairobi")
    assert "`sudan` (was Asia/Tokyo)" in text
    (sub,) = subs(running)
    assert sub.timezone is None
    assert audits(running)[-1].detail["cleared"] == {"sudan": "Asia/Tokyo"}
    (job,) = load_plan(running.engine, settings)
    assert job.schedule.timezone == "Africa/Nairobi"


def test_subscribe_list_shows_each_briefing_in_local_time(running: Running) -> None:
    ask(running, "timezone Asia/Kathmandu")
    ask(running, "subscribe sudan briefings at:thu-07:15")
    ask(running, "subscribe myanmar alerts digest")
    _, text = ask(running, "subscribe list")
    # T0 is Monday 6 May 2024 12:00 UTC: the next Thursday 07:15 in Kathmandu is on 9 May
    assert "*Sudan* (`sudan`) — briefings every Thu at 07:15 Asia/Kathmandu (next Thu 09 May)" in (
        text
    )
    assert "*Myanmar* (`myanmar`) — alerts ≥ watch as digest daily at 08:00" in text
    (myanmar,) = {line for line in text.splitlines() if "*Myanmar*" in line}
    assert "briefings" not in myanmar


def test_a_change_in_slack_reaches_the_planner(running: Running, settings: Settings) -> None:
    """What `briefings:sync` rebuilds the jobs from (every 5 minutes) after the commands."""
    ask(running, "subscribe sudan briefings at:sat-06:45")
    ask(running, "timezone America/New_York")
    (job,) = load_plan(running.engine, settings)
    schedule = job.schedule
    assert (job.id, schedule.weekday, schedule.time, schedule.timezone) == (
        f"brief:{PUBLIC}:sudan",
        "sat",
        "06:45",
        "America/New_York",
    )
    # Saturday 11 May 2024 06:45 EDT = 10:45 UTC
    assert next_run(schedule, T0).isoformat() == "2024-05-11T10:45:00+00:00"


def test_help_lists_the_new_syntax(running: Running) -> None:
    _, text = ask(running, "help")
    assert "`/tocsin subscribe &lt;situation&gt; briefings at:mon-09:00`" in text
    assert "`/tocsin timezone [&lt;IANA name&gt;]`" in text
