"""Review channels named by a situation: one card per item for all its subscribers, and the
restricted-situation and Slack Connect rules on both the review channel and the destinations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.review import settle_reviews
from bot.slack.blocks import ACTION_REVIEW_SHARE
from bot.store.db import session_scope
from bot.store.tables import MessageKind, MessageState, OutboxMessage, Subscription
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import ALLOWED, PUBLIC, SHARED
from tests.slack.test_review import click, posts, rows, text_of

REVIEW = "CREVIEW1"
SECRET_REVIEW = "CSECRET1"
PUBLIC2 = "CPUBLIC2"


@pytest.fixture
def settings() -> Settings:
    return helpers.settings(
        situations=[
            {"slug": "sudan", "name": "Sudan", "countries": ["SDN"], "review_channel": REVIEW},
            {
                "slug": "drc-east",
                "name": "Eastern DRC",
                "countries": ["COD"],
                "sensitivity": "restricted",
                "allowed_channels": [ALLOWED, SHARED, SECRET_REVIEW],
                "review_channel": SECRET_REVIEW,
            },
        ],
    )


def fan_out(
    engine: Engine, *, situation: str, channels: list[str], severity: str = "warning"
) -> list[int]:
    """One item and match, queued as an alert for each channel's subscription (as ingest does)."""
    item_id, match_id = helpers.add_match(
        engine,
        feed="test",
        guid=f"{situation}-1",
        title="Militia attacks a camp",
        url="https://news.example.org/1",
        source="Radio Dabanga",
        published=helpers.T0,
        situation=situation,
        indicators=("MASS_KILL",),
        evidence=[],
        severity=severity,
        score=6.0,
    )
    with session_scope(engine) as session:
        return [
            subscribe_and_queue(session, channel, situation, item_id, match_id, severity)
            for channel in channels
        ]


def subscribe_and_queue(
    session: Session, channel: str, situation: str, item_id: int, match_id: int, severity: str
) -> int:
    """A new subscription of `channel` and its queued alert for the item; the alert's id."""
    sub = Subscription(channel=channel, situation=situation)
    session.add(sub)
    session.flush()
    alert = OutboxMessage(
        subscription_id=sub.id,
        item_id=item_id,
        match_id=match_id,
        channel=channel,
        situation=situation,
        severity=severity,
        created_at=helpers.T0,
        next_attempt_at=helpers.T0,
    )
    session.add(alert)
    session.flush()
    assert alert.id is not None
    return alert.id


def states(engine: Engine, ids: list[int]) -> list[MessageState]:
    with session_scope(engine) as session:
        return [session.get(OutboxMessage, i).state for i in ids]  # type: ignore[union-attr]


def test_a_situations_review_channel_gets_one_card_for_all_its_subscribers(
    running: Running,
) -> None:
    ids = fan_out(running.engine, situation="sudan", channels=[PUBLIC, PUBLIC2])
    running.deliver()
    (card,) = posts(running, REVIEW)
    assert f"<#{PUBLIC}> (waiting), <#{PUBLIC2}> (waiting)" in text_of(card)
    (review,) = rows(running.engine, MessageKind.REVIEW)
    assert review.id is not None
    click(running, ACTION_REVIEW_SHARE, review.id)
    assert "it goes to 2 channels" in running.reply()["text"]
    running.deliver()
    assert len(posts(running, PUBLIC)) == 1 and len(posts(running, PUBLIC2)) == 1
    assert states(running.engine, ids) == [MessageState.DELIVERED] * 2


def test_a_restricted_situation_is_not_put_before_a_shared_review_channel(
    running: Running,
) -> None:
    for channel, shared in ((ALLOWED, False), (SECRET_REVIEW, True)):  # asked in this order
        running.slack.on(
            "conversations.info",
            body={"ok": True, "channel": {"id": channel, "is_ext_shared": shared}},
        )
    ids = fan_out(running.engine, situation="drc-east", channels=[ALLOWED])
    running.deliver()
    assert running.slack.calls("chat.postMessage") == []
    (review,) = rows(running.engine, MessageKind.REVIEW)
    assert review.state == MessageState.WITHHELD and "restricted" in (review.last_error or "")
    assert states(running.engine, ids) == [MessageState.REVIEW]  # and it never goes out


def test_restricted_rules_still_apply_to_the_destination_after_share(running: Running) -> None:
    def info(channel: str, shared: bool) -> None:
        running.slack.on(
            "conversations.info",
            body={"ok": True, "channel": {"id": channel, "is_ext_shared": shared}},
        )

    info(SHARED, False)  # asked first, for the alert
    info(SECRET_REVIEW, False)  # then for its review card
    ids = fan_out(running.engine, situation="drc-east", channels=[SHARED])
    running.deliver()
    (review,) = rows(running.engine, MessageKind.REVIEW)
    assert review.id is not None and review.state == MessageState.DELIVERED
    click(running, ACTION_REVIEW_SHARE, review.id, channel=SECRET_REVIEW)
    running.reply()
    clock = running.deliverer.clock
    assert isinstance(clock, helpers.FakeClock)
    clock.advance(timedelta(hours=2))  # Slack is asked again after an hour
    info(SHARED, True)  # the destination became a Slack Connect channel meanwhile
    running.deliver()
    assert posts(running, SHARED) == []
    assert states(running.engine, ids) == [MessageState.WITHHELD]


def test_an_alert_that_comes_after_the_decision_follows_it(running: Running) -> None:
    (first,) = fan_out(running.engine, situation="sudan", channels=[PUBLIC])
    running.deliver()
    (review,) = rows(running.engine, MessageKind.REVIEW)
    assert review.id is not None
    click(running, ACTION_REVIEW_SHARE, review.id)
    running.reply()
    running.deliver()
    with session_scope(running.engine) as session:  # a channel subscribes later; same report
        alert = session.get(OutboxMessage, first)
        assert alert is not None and alert.state == MessageState.DELIVERED
        assert alert.item_id is not None and alert.match_id is not None
        late_id = subscribe_and_queue(
            session, PUBLIC2, "sudan", alert.item_id, alert.match_id, "warning"
        )
    running.deliver()
    (post,) = posts(running, PUBLIC2)
    assert f"Reviewed by <@{helpers.USER}>" in text_of(post)
    assert len(posts(running, REVIEW)) == 1  # no second card for the same report
    assert states(running.engine, [late_id]) == [MessageState.DELIVERED]


def test_the_sweep_releases_an_alert_left_waiting_beside_a_decision(running: Running) -> None:
    """An alert put up for review in the same instant as the decision (its transaction had not
    committed when the decision's UPDATE ran) is released by the next sweep, once."""
    ids = fan_out(running.engine, situation="sudan", channels=[PUBLIC, PUBLIC2])
    running.deliver()
    (review,) = rows(running.engine, MessageKind.REVIEW)
    assert review.id is not None
    click(running, ACTION_REVIEW_SHARE, review.id)
    running.reply()
    with session_scope(running.engine) as session:  # as if PUBLIC2's alert had been late
        late = session.get(OutboxMessage, ids[1])
        assert late is not None
        late.state, late.payload = MessageState.REVIEW, {}
    settings = running.app.services.settings
    assert settle_reviews(running.engine, settings=settings, now=helpers.T0) == 1
    assert settle_reviews(running.engine, settings=settings, now=helpers.T0) == 0
    running.deliver()
    assert len(posts(running, PUBLIC)) == 1
    (post,) = posts(running, PUBLIC2)
    assert f"Reviewed by <@{helpers.USER}>" in text_of(post)
