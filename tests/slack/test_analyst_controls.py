"""Filters, quiet hours and snoozes end to end: signed `/tocsin` commands and button clicks over
HTTP, feeds served over loopback, the poller and the deliverer, the mock Slack Web API.

- a filter set with `/tocsin subscribe … filter:` decides which items reach that channel and is
  explained on the alert ("matched filter: 'El Fasher'");
- quiet hours hold ordinary alerts (critical ones go out) and end in one roll-up, posted once
  even when the process loses Slack's answer at the end of the night;
- `/tocsin mute sudan 3d`, the Mute button and `/tocsin unmute` share one field; every change
  is in the audit log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import hypothesis
import pytest
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Secrets, Settings
from bot.outbox.deliverer import Deliverer
from bot.outbox.rollup import _roll_up, make_rollups
from bot.outbox.views import AlertView
from bot.pipeline import Poller
from bot.runtime import build_runtime, utc_now
from bot.slack.blocks import ACTION_MUTE, alert_message
from bot.slack.sink import SlackSink
from bot.store.db import session_scope
from bot.store.tables import (
    AuditLog,
    Item,
    MessageKind,
    MessageState,
    OutboxMessage,
    Subscription,
)
from bot.subscriptions import sync_config_subscriptions
from tests.feedhost import FeedHost, rss
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import PUBLIC, T0, USER, FakeClock, assert_inert, mrkdwn_texts
from tests.slack.mock_slack import MockSlack
from tests.test_outbox import FakeSink

OTHER = "COTHER01"
ITEMS = {
    "fasher": "Sudan: massacre of civilians reported in El Fasher as thousands flee",
    "cholera": "Sudan: cholera kills dozens of displaced civilians in Darfur camps",
    "darfur": "Sudan: militia kills dozens of civilians in a Darfur village",
    "khartoum": "Sudan: massacre of civilians reported in Khartoum as thousands flee",
}


@pytest.fixture
def settings(host: FeedHost) -> Settings:
    return helpers.settings(
        feeds=[{"name": "News", "url": host.url("/news.xml")}],
        polling={"allow_private_targets": True, "parse_workers": 0},
        alerts={"min_severity": "info"},
        subscriptions=[
            {"channel": OTHER, "situations": ["sudan"], "briefings": False, "min_severity": "info"}
        ],
    )


@pytest.fixture
def poller(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[Poller]:
    runtime = build_runtime(
        settings=settings, secrets=Secrets(), sink=FakeSink(), clock=clock, engine=engine
    )
    with runtime.poller as p:
        yield p


def serve_items(host: FeedHost, clock: FakeClock) -> None:
    published = format_datetime(clock() - timedelta(hours=1))
    host.serve(
        "/news.xml",
        rss(*({"title": t, "guid": g, "pubDate": published} for g, t in ITEMS.items())),
    )


def alerts_by_channel(engine: Engine) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with session_scope(engine) as session:
        for row, item in session.exec(
            select(OutboxMessage, Item).where(OutboxMessage.item_id == Item.id)
        ).all():
            out.setdefault(row.channel, set()).add(item.guid)
    return out


def audit(engine: Engine) -> list[AuditLog]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditLog).order_by(AuditLog.id)).all())


def subscription(engine: Engine, channel: str = PUBLIC) -> Subscription:
    with session_scope(engine) as session:
        sub = session.exec(
            select(Subscription)
            .where(Subscription.channel == channel)
            .where(Subscription.situation == "sudan")
        ).one()
        session.expunge(sub)
        return sub


def test_a_filter_decides_what_reaches_the_channel_and_says_why(
    running: Running, host: FeedHost, poller: Poller, clock: FakeClock
) -> None:
    running.command('subscribe sudan alerts filter:"El Fasher" OR Darfur -cholera')
    reply = running.reply()
    assert reply["response_type"] == "in_channel"
    assert '"El Fasher" OR (Darfur AND NOT cholera)' in "\n".join(mrkdwn_texts(reply["blocks"]))
    assert subscription(running.engine).filter_query == '"El Fasher" OR Darfur -cholera'
    serve_items(host, clock)
    with session_scope(running.engine) as session:  # what `tocsin run` does at start
        sync_config_subscriptions(session, running.app.services.settings, now=clock())
    poller.poll(force=True)
    got = alerts_by_channel(running.engine)
    assert got[OTHER] == set(ITEMS)  # no filter: every Sudan report
    assert got[PUBLIC] == {"fasher", "darfur"}
    running.deliver()
    posted = {
        m["text"]: "\n".join(mrkdwn_texts(m["blocks"])) for m in running.slack.accepted(PUBLIC)
    }
    [fasher] = [text for fallback, text in posted.items() if "El Fasher" in fallback]
    [darfur] = [text for fallback, text in posted.items() if "Darfur" in fallback]
    assert "matched filter: 'El Fasher'" in fasher and "Darfur'" not in fasher
    assert "matched filter: 'Darfur'" in darfur
    for text in posted.values():
        assert_inert(text)
    for message in running.slack.accepted(OTHER):
        assert "matched filter" not in "\n".join(mrkdwn_texts(message["blocks"]))
    [entry] = [a for a in audit(running.engine) if a.action == "filter"]
    assert (entry.actor, entry.channel, entry.detail["before"]) == (USER, PUBLIC, None)
    assert entry.detail["after"] == '"El Fasher" OR Darfur -cholera'


def test_a_bad_filter_changes_nothing_and_points_at_the_problem(running: Running) -> None:
    running.command('subscribe sudan filter:"El Fasher"')
    running.reply()
    before = audit(running.engine)
    running.command("subscribe sudan digest filter:(Darfur OR Kordofan")
    reply = running.reply()
    text = "\n".join(mrkdwn_texts(reply["blocks"]))
    assert reply["response_type"] == "ephemeral"
    assert "this '(' is never closed" in text
    assert "```\n(Darfur OR Kordofan\n^\n```" in text
    assert subscription(running.engine).filter_query == '"El Fasher"'
    assert subscription(running.engine).digest is False  # the options were not applied either
    assert audit(running.engine) == before


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("Darfur " * 100, "the limit is 500"),
        ("(" * 30 + "Darfur" + ")" * 30, "nests deeper than 8 levels"),
        ("Darfur OR (Kordofan", "never closed"),
        ("Darfur) OR (Kordofan", "has no '(' before it"),
        ('"El Fasher', "this quote is never closed"),
        ("\u200b\u202e\u0301 OR Darfur", "has no letters or digits"),
        ("<!channel> &amp; -", "has no letters or digits"),
    ],
)
def test_hostile_filters_over_slack_change_nothing(
    running: Running, query: str, problem: str
) -> None:
    running.command("subscribe sudan")
    running.reply()
    before = audit(running.engine)
    running.command(f"subscribe sudan alerts filter:{query}")
    reply = running.reply()
    text = "\n".join(mrkdwn_texts(reply["blocks"]))
    assert reply["response_type"] == "ephemeral" and problem in text
    shown, caret = text.split("```\n")[1].split("\n")[:2]
    assert caret.strip() == "^" and len(shown) <= 200
    assert "\u202e" not in text and "\u200b" not in text
    assert_inert(text)
    assert audit(running.engine) == before
    assert subscription(running.engine).filter_query is None


def test_an_empty_filter_clears_it_and_the_list_shows_everything(
    running: Running, clock: FakeClock
) -> None:
    running.command("subscribe sudan filter:Darfur -cholera")
    running.reply()
    running.command("quiet 22:00-07:00")
    running.reply()
    running.command("mute sudan 1w")
    running.reply()
    running.command("subscribe list")
    text = "\n".join(mrkdwn_texts(running.reply()["blocks"]))
    assert "filter `Darfur -cholera`" in text and "quiet 22:00-07:00" in text
    assert "muted until <!date^" in text
    running.command("subscribe sudan filter:")
    running.reply()
    assert subscription(running.engine).filter_query is None
    running.command("subscribe list")
    assert "filter `" not in "\n".join(mrkdwn_texts(running.reply()["blocks"]))


def test_quiet_hours_hold_ordinary_alerts_for_one_rollup_and_let_critical_ones_through(
    running: Running, clock: FakeClock
) -> None:
    running.command("timezone Africa/Nairobi")  # UTC+3: T0 (12:00 UTC) is 15:00 there
    running.reply()
    running.command("quiet 14:30-16:00")
    reply = running.reply()
    assert "*14:30-16:00* (Africa/Nairobi)" in "\n".join(mrkdwn_texts(reply["blocks"]))
    running.command("quiet")
    shown = "\n".join(mrkdwn_texts(running.reply()["blocks"]))
    assert "it is quiet now, until <!date^" in shown
    ordinary = [
        helpers.make_alert(
            running.engine,
            title=f"Report {n} <!channel>",
            url=f"https://news.example.org/{n}",
            state=MessageState.QUEUED,
            published=T0 - timedelta(minutes=30),
            score=3.0 + n,
        )
        for n in range(4)
    ]
    [critical] = [
        helpers.make_alert(
            running.engine,
            title="Critical report",
            url="https://news.example.org/critical",
            state=MessageState.QUEUED,
            severity="critical",
            published=T0 - timedelta(minutes=20),
        )
    ]
    report = running.deliver()
    assert (report.held, report.delivered) == (4, 1)
    assert [m["text"] for m in running.slack.accepted(PUBLIC)] == [
        "CRITICAL · Sudan: Critical report (Radio Dabanga)"
    ]
    assert make_rollups(running.engine, now=clock()) == 0  # still quiet
    clock.advance(timedelta(minutes=59))  # 15:59 Nairobi
    assert make_rollups(running.engine, now=clock()) == 0
    clock.advance(timedelta(minutes=1))  # 16:00: the quiet hours end
    assert make_rollups(running.engine, now=clock()) == 1
    assert make_rollups(running.engine, now=clock()) == 0  # once
    assert running.deliver().delivered == 1
    rollup = running.slack.accepted(PUBLIC)[-1]
    text = "\n".join(mrkdwn_texts(rollup["blocks"]))
    assert "*4 more reports for Sudan in the last hour*" in text  # held from 12:00 to 13:00
    assert "Held during this channel's quiet hours" in text
    assert rollup["text"] == "4 more reports for Sudan (held back during quiet hours)"
    assert text.count("• ") == 4
    assert_inert(text)
    with session_scope(running.engine) as session:
        states = Counter(_state(session, i) for i in ordinary)
        assert _state(session, critical) == MessageState.DELIVERED
    assert states == Counter({MessageState.ROLLED_UP: 4})
    helpers.make_alert(running.engine, title="After the night", state=MessageState.QUEUED)
    assert running.deliver().delivered == 1  # not quiet any more: straight out


def test_the_rollup_is_posted_once_when_the_process_dies_at_the_end_of_quiet_hours(
    engine: Engine,
) -> None:
    """Slack's history is looked up by real time, so this night ends now."""
    slack = MockSlack(realtime_ts=True)
    end = utc_now().replace(second=0, microsecond=0)
    clock = FakeClock(end - timedelta(hours=1))
    window = f"{end - timedelta(hours=2):%H:%M}-{end:%H:%M}"
    try:
        _die_at_the_end_of_quiet_hours(engine, slack, clock, window)
    finally:
        slack.close()


def _die_at_the_end_of_quiet_hours(
    engine: Engine, slack: MockSlack, clock: FakeClock, window: str
) -> None:
    settings = helpers.settings()
    with session_scope(engine) as session:
        session.add(Subscription(channel=PUBLIC, situation="sudan", quiet_hours=window))
    first = deliverer(settings, engine, slack, clock, owner="first")
    ids = [
        helpers.make_alert(
            engine, title=f"Night report {n}", state=MessageState.QUEUED, published=clock()
        )
        for n in range(3)
    ]
    assert first.drain().held == 3
    clock.advance(timedelta(hours=1))  # the end of the quiet hours
    # the process that makes the roll-up dies with its transaction open: nothing is kept …
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        _roll_up(session, channel=PUBLIC, situation="sudan", now=clock())
        raise RuntimeError("killed")
    with session_scope(engine) as session:
        assert not session.exec(select(OutboxMessage).where(OutboxMessage.kind == "rollup")).all()
        assert {_state(session, i) for i in ids} == {MessageState.HELD}
    # … the next one makes it, posts it, and dies before it hears Slack's answer
    assert make_rollups(engine, now=clock()) == 1
    slack.garble(times=1)
    assert first.drain().retried == 1
    assert len(slack.accepted(PUBLIC)) == 1
    # a new process takes over, looks, finds it posted, and does not post it again
    clock.advance(timedelta(minutes=1))
    second = deliverer(settings, engine, slack, clock, owner="second")
    assert make_rollups(engine, now=clock()) == 0
    assert second.drain().reconciled == 1
    assert len(slack.accepted(PUBLIC)) == 1
    with session_scope(engine) as session:
        rollups = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == MessageKind.ROLLUP)
        ).all()
        assert [r.state for r in rollups] == [MessageState.DELIVERED]
        assert {_state(session, i) for i in ids} == {MessageState.ROLLED_UP}


def _state(session: Session, message_id: int) -> MessageState:
    row = session.get(OutboxMessage, message_id)
    assert row is not None
    return row.state


def deliverer(
    settings: Settings, engine: Engine, slack: MockSlack, clock: FakeClock, *, owner: str
) -> Deliverer:
    sink = SlackSink(token="xoxb-t", base_url=slack.base_url, engine=engine, clock=clock)
    return Deliverer(settings=settings, engine=engine, sink=sink, clock=clock, owner=owner)


def test_mute_for_a_while_then_unmute_and_the_button_uses_the_same_field(
    running: Running, clock: FakeClock
) -> None:
    running.command("subscribe sudan alerts")
    running.reply()
    running.command("mute sudan 3d")
    reply = running.reply()
    assert reply["response_type"] == "in_channel"
    assert subscription(running.engine).muted_until == T0 + timedelta(days=3)
    muted = helpers.make_alert(running.engine, title="While muted", state=MessageState.QUEUED)
    assert running.deliver().muted == 1
    running.command("unmute sudan")
    assert ":loud_sound:" in running.reply()["text"]
    assert subscription(running.engine).muted_until is None
    heard = helpers.make_alert(running.engine, title="After unmute", state=MessageState.QUEUED)
    assert running.deliver().delivered == 1
    clicked = helpers.action_body(
        ACTION_MUTE, heard, response_url=running.slack.response_url("act")
    )
    assert helpers.post(running.events_url, clicked).status == 200
    assert "muted *Sudan*" in running.reply()["text"]
    assert subscription(running.engine).muted_until == T0 + timedelta(hours=24)
    running.command("unmute sudan")
    running.reply()
    assert subscription(running.engine).muted_until is None
    running.command("unmute sudan")
    assert "is not muted" in running.reply()["text"]
    with session_scope(running.engine) as session:
        assert _state(session, muted) == MessageState.MUTED
    actions = [(a.action, a.actor, a.situation) for a in audit(running.engine)]
    assert actions[1:] == [
        ("mute", USER, "sudan"),
        ("unmute", USER, "sudan"),
        ("mute", USER, "sudan"),
        ("unmute", USER, "sudan"),
    ]


def test_turning_quiet_hours_off_posts_what_they_held_at_once(
    running: Running, clock: FakeClock
) -> None:
    running.command("quiet 11:00-18:00")  # UTC: T0 is 12:00
    running.reply()
    held = [
        helpers.make_alert(running.engine, title=f"Held {n}", state=MessageState.QUEUED)
        for n in range(2)
    ]
    assert running.deliver().held == 2
    assert make_rollups(running.engine, now=clock()) == 0
    running.command("quiet off")
    text = running.reply()["text"]
    assert "The 2 alerts held during the old quiet hours go out now, as one roll-up." in text
    assert make_rollups(running.engine, now=clock()) == 1
    assert running.deliver().delivered == 1
    assert "2 more reports for Sudan" in running.slack.accepted(PUBLIC)[-1]["text"]
    with session_scope(running.engine) as session:
        assert {_state(session, i) for i in held} == {MessageState.ROLLED_UP}
    [entry] = [a for a in audit(running.engine) if a.detail.get("after") is None]
    assert entry.action == "quiet" and entry.detail["released"] == 2


def test_subscribe_with_only_a_filter_asks_for_the_situation(running: Running) -> None:
    running.command("subscribe filter:Darfur")
    reply = running.reply()
    assert reply["response_type"] == "ephemeral" and "name a situation" in reply["text"]


def test_a_snooze_needs_a_subscription(running: Running) -> None:
    running.command("mute sudan 3d")
    reply = running.reply()
    assert reply["response_type"] == "ephemeral"
    assert "this channel does not follow Sudan" in reply["text"]
    assert audit(running.engine) == []


def test_quiet_changes_are_audited_and_clear_config_quiet_hours(running: Running) -> None:
    with session_scope(running.engine) as session:
        session.add(Subscription(channel=PUBLIC, situation="sudan", quiet_hours="21:00-06:00"))
    running.command("quiet")
    assert "*Sudan* 21:00-06:00" in "\n".join(mrkdwn_texts(running.reply()["blocks"]))
    running.command("quiet 22:00-07:00")
    text = "\n".join(mrkdwn_texts(running.reply()["blocks"]))
    assert "`sudan` (was 21:00-06:00)" in text
    running.command("quiet off")
    assert "turned this channel's quiet hours off (were 22:00-07:00)" in running.reply()["text"]
    quiet = [a for a in audit(running.engine) if a.action == "quiet"]
    assert [(a.detail["before"], a.detail["after"]) for a in quiet] == [
        (None, "22:00-07:00"),
        ("22:00-07:00", None),
    ]
    assert quiet[0].detail["cleared"] == {"sudan": "21:00-06:00"}
    assert subscription(running.engine).quiet_hours is None


@hypothesis.settings(deadline=None)
@hypothesis.given(
    term=st.one_of(
        st.text(), st.sampled_from(["<!channel>", "<@U123>", "&amp;", "a>b<c", "\u202e"])
    )
)
def test_matched_filter_terms_are_escaped_on_the_card(term: str) -> None:
    view = AlertView(
        alert_id=1,
        channel=PUBLIC,
        situation="sudan",
        situation_name="Sudan",
        severity="warning",
        score=5.0,
        why="",
        title="title",
        url=None,
        source="source",
        published=T0,
        summary="",
        language=None,
        evidence=(),
        filter_matched=(term, "El Fasher"),
    )
    message = alert_message(view)
    texts = mrkdwn_texts(message.block_dicts())
    for text in [message.text, *texts]:
        assert_inert(text)
    assert any(text.endswith("'El Fasher'") and "matched filter: '" in text for text in texts)
