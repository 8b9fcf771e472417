"""Review before sharing, end to end: the review card, Share / Share with note… / Discard, the
timeout, and exactly-once under double clicks, two reviewers, forged and replayed requests —
through signed requests into the app and the outbox drained into the mock Slack."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.review import settle_reviews
from bot.slack.blocks import (
    ACTION_REVIEW_DISCARD,
    ACTION_REVIEW_NOTE,
    ACTION_REVIEW_SHARE,
    NOTE_BLOCK,
    NOTE_INPUT,
    VIEW_REVIEW_NOTE,
)
from bot.store.db import session_scope
from bot.store.tables import (
    AuditLog,
    Feedback,
    MessageKind,
    MessageState,
    OutboxMessage,
    ReviewDecision,
    Subscription,
)
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import PUBLIC, USER, assert_inert, mrkdwn_texts

REVIEW = "CREVIEW1"
OTHER = "UOTHER01"


def queue_alert(
    engine: Engine,
    *,
    review_channel: str | None = REVIEW,
    review_timeout: int | None = None,
    **fields: Any,
) -> int:
    """A queued alert whose subscription is reviewed in `review_channel`."""
    alert_id = helpers.make_alert(engine, state="queued", **fields)
    with session_scope(engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        assert alert is not None
        sub = session.get(Subscription, alert.subscription_id)
        assert sub is not None
        sub.review_channel, sub.review_timeout = review_channel, review_timeout
        session.add(sub)
    return alert_id


def rows(engine: Engine, kind: MessageKind) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


def the_review(engine: Engine) -> OutboxMessage:
    (review,) = rows(engine, MessageKind.REVIEW)
    return review


def click(
    running: Running, action_id: str, review_id: int, *, channel: str = REVIEW, **kw: str
) -> helpers.Response:
    body = helpers.action_body(
        action_id,
        review_id,
        response_url=running.slack.response_url("act"),
        channel=channel,
        **kw,
    )
    return helpers.post(running.events_url, body)


def submit_note(
    running: Running, review_id: int, note: str, *, user: str = USER, channel: str = REVIEW
) -> helpers.Response:
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "t"},
        "user": {"id": user, "username": "someone", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "1.2.4",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": VIEW_REVIEW_NOTE,
            "private_metadata": json.dumps({"review": review_id, "channel": channel}),
            "state": {
                "values": {NOTE_BLOCK: {NOTE_INPUT: {"type": "plain_text_input", "value": note}}}
            },
        },
    }
    return helpers.post(running.events_url, urlencode({"payload": json.dumps(payload)}))


def posts(running: Running, channel: str) -> list[dict[str, Any]]:
    return [c.body for c in running.slack.calls("chat.postMessage") if c.body["channel"] == channel]


def button_ids(body: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in body["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def text_of(body: dict[str, Any]) -> str:
    return "\n".join(mrkdwn_texts(body["blocks"]))


def test_an_alert_waits_for_review_then_share_sends_it_once(running: Running) -> None:
    alert_id = queue_alert(running.engine, title="Camp attacked <!channel> & burned")
    running.deliver()
    assert posts(running, PUBLIC) == []  # nothing goes out unreviewed
    (card,) = posts(running, REVIEW)
    assert button_ids(card) == [ACTION_REVIEW_SHARE, ACTION_REVIEW_NOTE, ACTION_REVIEW_DISCARD]
    for text in mrkdwn_texts(card["blocks"]):
        assert_inert(text, trusted_ids=frozenset({PUBLIC}))
    assert "Camp attacked &lt;!channel&gt; &amp; burned" in text_of(card)
    assert f"before it goes to <#{PUBLIC}> (waiting)" in text_of(card)
    review = the_review(running.engine)
    with session_scope(running.engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        assert alert is not None
        assert (alert.state, alert.review_id) == (MessageState.REVIEW, review.id)

    assert review.id is not None
    assert click(running, ACTION_REVIEW_SHARE, review.id).status == 200
    reply = running.reply()
    assert reply["response_type"] == "ephemeral"
    assert "Shared: it goes to 1 channel" in reply["text"]
    running.deliver()
    (shared,) = posts(running, PUBLIC)
    assert f"Reviewed by <@{USER}>" in text_of(shared)
    assert button_ids(shared)[0] == "tocsin_feedback_relevant"  # the usual alert card
    (update,) = running.slack.updates()
    assert update["channel"] == REVIEW and update["ts"] == review.message_ts
    assert f"*Shared* by <@{USER}>" in text_of(update) and button_ids(update) == []
    with session_scope(running.engine) as session:
        entry = session.exec(select(AuditLog).where(AuditLog.action == "review_shared")).one()
        assert (entry.actor, entry.channel, entry.detail["alerts"]) == (USER, REVIEW, [alert_id])

    click(running, ACTION_REVIEW_SHARE, review.id)  # the same reviewer, again
    assert f"Already shared by <@{USER}>" in running.reply()["text"]
    click(running, ACTION_REVIEW_SHARE, review.id, user=OTHER)  # and someone else
    assert f"Already shared by <@{USER}>" in running.reply()["text"]
    running.deliver()
    assert len(posts(running, PUBLIC)) == 1
