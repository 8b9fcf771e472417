"""Every `/tocsin` reply, exactly as Slack receives it, against a golden file.

One fixed scene (the clock, feeds, reports, subscriptions, a blocked channel, alerts the flood
guard held back); each case runs one command through the signed HTTP endpoint and compares the
reply posted to response_url (text, blocks, response type) with tests/slack/golden/<case>.json.
Besides the exact text, every reply is checked for text run together: a bullet must start its
line, and bold markers must not touch the word before them.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.store.db import session_scope
from bot.store.tables import ChannelState, Feed, MessageState, OutboxMessage, Subscription
from tests.briefing import golden
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ADMIN, ALLOWED, PUBLIC, SHARED, T0, USER, assert_inert, mrkdwn_texts

FOLDER = golden.Path(__file__).parent / "golden"
TRUSTED = frozenset({USER, ADMIN, PUBLIC, ALLOWED, SHARED, "CBLOCKED", "CREVIEW1"})

CASES = {  # case: (command text, user, channel)
    "help": ("help", USER, PUBLIC),
    "help_admin": ("", ADMIN, PUBLIC),
    "situations": ("situations", USER, PUBLIC),
    "situations_allowed_channel": ("situations", USER, ALLOWED),
    "subscribe": ("subscribe myanmar", USER, PUBLIC),
    "subscribe_again": ("subscribe sudan alerts min:critical digest", USER, PUBLIC),
    "subscribe_briefing_time": ("subscribe sudan briefings at:wed-14:30", USER, PUBLIC),
    "subscribe_no_situation": ("subscribe", USER, PUBLIC),
    "subscribe_unknown": ("subscribe sudna", USER, PUBLIC),
    "subscribe_restricted_elsewhere": ("subscribe drc-east", USER, PUBLIC),
    "subscribe_restricted_shared": ("subscribe drc-east", USER, SHARED),
    "subscribe_bad_option": ("subscribe sudan loudly", USER, PUBLIC),
    "subscribe_bad_time": ("subscribe sudan at:25:00", USER, PUBLIC),
    "subscribe_review": (
        "subscribe sudan review:<#CREVIEW1|sudan-review> timeout:2h",
        USER,
        PUBLIC,
    ),
    "subscribe_review_bad_channel": ("subscribe sudan review:#sudan-review", USER, PUBLIC),
    "subscribe_dm": ("subscribe sudan dm min:warning", USER, PUBLIC),
    "subscribe_dm_restricted": ("subscribe drc-east dm", USER, ALLOWED),
    "subscribe_list": ("subscribe list", USER, PUBLIC),
    "subscribe_list_dm": ("subscribe list dm", USER, PUBLIC),
    "review_nothing_waiting": ("review", USER, PUBLIC),
    "subscribe_list_empty": ("subscribe list", USER, "CEMPTY01"),
    "unsubscribe": ("unsubscribe sudan", USER, PUBLIC),
    "unsubscribe_not_subscribed": ("unsubscribe myanmar", USER, PUBLIC),
    "timezone": ("timezone", USER, PUBLIC),
    "timezone_set": ("timezone Africa/Nairobi", USER, PUBLIC),
    "timezone_unknown": ("timezone Africa/Nairob", USER, PUBLIC),
    "timezone_too_many": ("timezone Africa/Nairobi Europe/Paris", USER, PUBLIC),
    "summary": ("summary sudan", USER, PUBLIC),
    "summary_24h_with_held": ("summary sudan 24h", USER, PUBLIC),
    "summary_bad_period": ("summary sudan 1y", USER, PUBLIC),
    "summary_no_situation": ("summary", USER, PUBLIC),
    "brief": ("brief sudan", USER, PUBLIC),
    "brief_no_situation": ("brief", USER, PUBLIC),
    "feeds": ("feeds", USER, PUBLIC),
    "feeds_admin": ("feeds", ADMIN, PUBLIC),
    "unknown_command": ("frobnicate <!channel>", USER, PUBLIC),
    "subscribe_filter": ('subscribe sudan filter:"El Fasher" OR Darfur -cholera', USER, PUBLIC),
    "subscribe_filter_bad": ("subscribe sudan alerts filter:Darfur OR (El Fasher", USER, PUBLIC),
    "subscribe_filter_hostile": ("subscribe sudan filter:Dar\u202efur <!channel> )", USER, PUBLIC),
    "subscribe_dm_review_filter": (  # review before sharing, DMs and a filter in one line
        "subscribe sudan dm review:<#CREVIEW1|sudan-review> filter:Darfur -cholera",
        USER,
        PUBLIC,
    ),
    "quiet": ("quiet", USER, PUBLIC),
    "quiet_set": ("quiet 22:00-07:00", USER, PUBLIC),
    "quiet_off": ("quiet off", USER, PUBLIC),
    "quiet_bad": ("quiet 22:00-22:00", USER, PUBLIC),
    "mute": ("mute sudan 3d", USER, PUBLIC),
    "mute_until": ("mute sudan until:2024-05-24", USER, PUBLIC),
    "mute_bad": ("mute sudan forever", USER, PUBLIC),
    "mute_not_followed": ("mute myanmar 1w", USER, PUBLIC),
    "unmute_not_muted": ("unmute sudan", USER, PUBLIC),
}


def scene(engine: Engine) -> None:
    """Feeds, reports, subscriptions and a blocked channel, all at fixed times."""
    with session_scope(engine) as session:
        session.add(
            Feed(
                name="UN News",
                kind="rss",
                url="https://news.un.org/rss",
                last_status="ok",
                last_success_at=T0 - timedelta(minutes=5),
            )
        )
        session.add(
            Feed(
                name="Radio X",
                kind="rss",
                url="https://x.example/rss",
                consecutive_failures=2,
                last_error="HTTP 503",
                last_error_at=T0 - timedelta(minutes=3),
            )
        )
        session.add(ChannelState(channel="CBLOCKED", error="is_archived", error_at=T0))
        session.add(
            Subscription(
                channel=PUBLIC, situation="sudan", briefings=False, created_at=T0, origin="config"
            )
        )
    for n, (days, indicators, severity, score) in enumerate(
        [
            (1, ("MASS_KILL", "DISPLACEMENT"), "critical", 11.0),
            (2, ("MASS_KILL",), "warning", 6.0),
            (3, ("HATE_SPEECH",), "watch", 3.0),
            (9, ("MASS_KILL",), "warning", 5.0),
        ]
    ):
        helpers.make_alert(
            engine,
            title=f"Report {n} from El Fasher",
            url=f"https://news.example.org/{n}",
            source=["Radio Dabanga", "UN News", "RFI", "Reuters"][n],
            published=T0 - timedelta(days=days),
            indicators=indicators,
            severity=severity,
            score=score,
        )
    held = [
        helpers.make_alert(
            engine,
            title=f"Held report {n}",
            url=f"https://held.example.org/{n}",
            published=T0 - timedelta(hours=3),
            score=4.0 + n,
            state=MessageState.ROLLED_UP,
        )
        for n in range(3)
    ]
    with session_scope(engine) as session:
        for alert in session.exec(select(OutboxMessage)).all():
            if alert.id in held:
                alert.created_at = T0 - timedelta(hours=3)


def reply_json(reply: dict) -> str:
    return json.dumps(
        {key: reply.get(key) for key in ("response_type", "text", "blocks")},
        indent=2,
        ensure_ascii=False,
        sort_keys=True,
    )


def assert_readable(text: str) -> None:
    """No text run together: bullets start lines; no `word*Bold*` or `2*Risk`."""
    for line in text.split("\n"):
        assert "•" not in line.lstrip()[1:], f"two bullets on one line: {line!r}"
    assert not re.search(r"[\w)]\*[A-Z]", text), f"run-together bold: {text!r}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_reply_matches_its_golden_file(running: Running, case: str) -> None:
    scene(running.engine)
    if case == "subscribe_restricted_shared":  # an allowed channel, shared with another org
        shared = {"ok": True, "channel": {"id": SHARED, "is_ext_shared": True}}
        running.slack.on("conversations.info", body=shared, times=None)
    text, user, channel = CASES[case]
    response = running.command(text, user=user, channel=channel)
    assert response.status == 200
    reply = running.reply()
    texts = [reply["text"], *mrkdwn_texts(reply.get("blocks", []))]
    for t in texts:
        assert_inert(t, trusted_ids=TRUSTED)
        assert_readable(t)
    golden.check(f"{case}.json", reply_json(reply), folder=FOLDER)


def test_every_command_has_golden_replies() -> None:
    from bot.slack.commands import ROUTES

    asked = {text.split()[0] if text else "help" for text, _, _ in CASES.values()}
    assert set(ROUTES) <= asked
