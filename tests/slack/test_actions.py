"""Alert buttons clicked through the real HTTP endpoint, signed like Slack signs them."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.slack import actions
from bot.slack.blocks import ACTION_ESCALATE, ACTION_MUTE, ACTION_NOT_RELEVANT, ACTION_RELEVANT
from bot.store.db import session_scope
from bot.store.tables import AuditLog, Feedback, MessageKind, OutboxMessage, Subscription
from tests.slack import helpers
from tests.slack.conftest import Running
from tests.slack.helpers import (
    ALLOWED,
    ESCALATION,
    PUBLIC,
    SHARED,
    USER,
    assert_inert,
    mrkdwn_texts,
)


def click(running: Running, action_id: str, alert_id: int, **kwargs: str) -> helpers.Response:
    body = helpers.action_body(
        action_id, alert_id, response_url=running.slack.response_url("act"), **kwargs
    )
    return helpers.post(running.events_url, body)


def feedback(running: Running) -> list[Feedback]:
    with session_scope(running.engine) as session:
        return list(session.exec(select(Feedback)).all())


EVIDENCE = [
    {"kind": "situation", "key": "sudan", "term": "El Fasher", "matched": "El Fasher",
     "field": "title", "start": 32, "end": 41, "language": ""},
    {"kind": "indicator", "key": "RF11", "name": "attacks", "term": "event:attack",
     "matched": "Attack on a displacement camp", "field": "title", "start": 0, "end": 29},
    {"kind": "indicator", "key": "EE4", "name": "IDPs", "term": "displacement camp",
     "matched": "displacement camp", "field": "title", "start": 12, "end": 29},
    {"kind": "event", "act": "attack", "act_kind": "attack", "codes": ["RF11"],
     "victims": [], "targets": ["shelter"], "phrase": "Attack", "field": "title",
     "grade": 2, "severity": "warning"},
]  # fmt: skip


def test_feedback_is_stored_per_user_per_alert_and_changeable(running: Running) -> None:
    alert_id = helpers.make_alert(running.engine, indicators=("RF11", "EE4"), evidence=EVIDENCE)
    assert click(running, ACTION_RELEVANT, alert_id).status == 200
    assert "recorded as *relevant*" in running.reply()["text"]
    (row,) = feedback(running)
    assert (row.user, row.relevant, row.situation, row.source, row.feed, row.origin) == (
        USER,
        True,
        "sudan",
        "Radio Dabanga",
        "test",
        "button",
    )
    assert row.indicators == ["RF11", "EE4"] and row.severity == "warning"
    assert [t["term"] for t in row.evidence["terms"]] == ["event:attack", "displacement camp"]
    assert [(e["act"], e["targets"]) for e in row.evidence["events"]] == [("attack", ["shelter"])]
    assert [m["matched"] for m in row.evidence["mentions"]] == ["El Fasher"]
    click(running, ACTION_NOT_RELEVANT, alert_id)
    reply = running.reply()
    assert "changed to *not relevant*" in reply["text"] and reply["response_type"] == "ephemeral"
    (row,) = feedback(running)
    assert row.relevant is False
    click(running, ACTION_RELEVANT, alert_id, user="UOTHER01")
    running.reply()
    assert len(feedback(running)) == 2
    with session_scope(running.engine) as session:
        votes = session.exec(select(AuditLog).where(AuditLog.action == "feedback")).all()
    assert [(a.actor, a.detail["relevant"], a.detail["previous"]) for a in votes] == [
        (USER, True, None),
        (USER, False, True),
        ("UOTHER01", True, None),
    ]
    assert {(a.channel, a.situation, a.detail["alert_id"]) for a in votes} == {
        (PUBLIC, "sudan", alert_id)
    }


def test_mute_sets_muted_until_for_that_channel_and_situation(running: Running) -> None:
    alert_id = helpers.make_alert(running.engine)
    click(running, ACTION_MUTE, alert_id)
    reply = running.reply()
    assert reply["response_type"] == "in_channel"
    assert f"<@{USER}> muted *Sudan* in this channel until" in reply["text"]
    with session_scope(running.engine) as session:
        sub = session.exec(select(Subscription)).one()
        assert sub.muted_until == helpers.T0 + timedelta(hours=24)
        entry = session.exec(select(AuditLog)).one()
        assert (entry.actor, entry.action, entry.channel, entry.situation) == (
            USER,
            "mute",
            PUBLIC,
            "sudan",
        )


def test_escalate_reposts_with_a_link_back(running: Running) -> None:
    alert_id = helpers.make_alert(running.engine, title="Camp attacked <!channel>")
    click(running, ACTION_ESCALATE, alert_id, message_ts="1700000000.000777")
    assert f"Escalating to <#{ESCALATION}>" in running.reply()["text"]
    permalink = running.slack.calls("chat.getPermalink")[0].body
    assert (permalink["channel"], permalink["message_ts"]) == (PUBLIC, "1700000000.000777")
    assert running.deliver().delivered == 1  # through the outbox, like every message
    (post,) = running.slack.calls("chat.postMessage")
    body = post.body
    assert body["channel"] == ESCALATION
    assert body["unfurl_links"] is False
    texts = mrkdwn_texts(body["blocks"])
    for text in texts:
        assert_inert(text, trusted_ids=frozenset({USER, PUBLIC}))
    note = texts[0]
    assert note.startswith(f":arrow_heading_up: Escalated by <@{USER}> from <#{PUBLIC}>")
    assert (
        f"<https://example.slack.com/archives/{PUBLIC}/p1700000000000777|original message>" in note
    )
    assert "Camp attacked &lt;!channel&gt;" in "\n".join(texts)
    assert all(b["type"] != "actions" for b in body["blocks"])
    with session_scope(running.engine) as session:
        entry = session.exec(select(AuditLog)).one()
        assert entry.action == "escalate" and entry.detail["to"] == ESCALATION
    click(running, ACTION_ESCALATE, alert_id)  # a second click posts nothing more
    assert "already been escalated" in running.reply()["text"]
    assert not running.deliver().counts
    assert len(running.slack.calls("chat.postMessage")) == 1


def test_an_escalation_into_a_channel_slack_refuses_is_blocked_and_logged(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    alert_id = helpers.make_alert(running.engine)
    running.slack.on("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
    click(running, ACTION_ESCALATE, alert_id)
    running.reply()
    assert running.deliver().blocked == 1
    with session_scope(running.engine) as session:
        escalation = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == MessageKind.ESCALATION)
        ).one()
        assert (escalation.state, escalation.last_error) == ("blocked", "not_in_channel")
    assert any("event=channel_blocked" in r.getMessage() for r in caplog.records)


def test_escalate_refused_into_ext_shared_channel_for_restricted(running: Running) -> None:
    running.slack.on(
        "conversations.info", body={"ok": True, "channel": {"id": SHARED, "is_ext_shared": True}}
    )
    alert_id = helpers.make_alert(running.engine, channel=ALLOWED, situation="drc-east")
    click(running, ACTION_ESCALATE, alert_id, channel=ALLOWED)
    assert "Not escalated" in running.reply()["text"]
    assert not running.deliver().counts
    assert running.slack.calls("chat.postMessage") == []


def test_escalate_without_escalation_channel(running: Running) -> None:
    alert_id = helpers.make_alert(running.engine, situation="myanmar")
    click(running, ACTION_ESCALATE, alert_id)
    assert "no escalation channel" in running.reply()["text"]
    assert running.slack.calls("chat.postMessage") == []


def test_unknown_alert_changes_nothing(running: Running) -> None:
    click(running, ACTION_RELEVANT, 999)
    assert "no longer in Tocsin's records" in running.reply()["text"]
    assert feedback(running) == []


def test_forged_click_is_401(running: Running) -> None:
    alert_id = helpers.make_alert(running.engine)
    body = helpers.action_body(ACTION_MUTE, alert_id, response_url=running.slack.response_url())
    response = helpers.post(running.events_url, body, signature="v0=" + "0" * 64)
    assert response.status == 401
    time.sleep(0.2)
    with session_scope(running.engine) as session:
        assert session.exec(select(Subscription)).one().muted_until is None


def test_two_first_votes_at_once_leave_one_vote_and_two_audit_entries(running: Running) -> None:
    """Two clicks of one user racing on one alert: the unique key stops a second row, the loser
    retries as a change; whatever the interleaving, one vote remains and both are audited."""
    alert_id = helpers.make_alert(running.engine)
    barrier = threading.Barrier(2)
    replies: list[str] = []

    def vote(relevant: bool) -> None:
        barrier.wait()
        message = actions.record_feedback(
            running.app.services, alert_id=alert_id, user=USER, relevant=relevant
        )
        replies.append(message.text)

    threads = [threading.Thread(target=vote, args=(r,)) for r in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (row,) = feedback(running)
    with session_scope(running.engine) as session:
        audits = session.exec(select(AuditLog).where(AuditLog.action == "feedback")).all()
    assert len(audits) == 2 and len(replies) == 2
    assert row.relevant == audits[-1].detail["relevant"]  # the last vote stands


def test_forged_or_replayed_votes_are_refused_and_store_nothing(running: Running) -> None:
    """A bad signature and a correctly signed click replayed ten minutes later are both 401; a
    genuine click sent after them is the positive signal that processing has caught up."""
    alert_id = helpers.make_alert(running.engine)
    body = helpers.action_body(
        ACTION_NOT_RELEVANT, alert_id, response_url=running.slack.response_url()
    )
    forged = helpers.post(running.events_url, body, signature="v0=" + "1" * 64)
    stale = helpers.post(running.events_url, body, timestamp=int(time.time()) - 600)
    assert (forged.status, stale.status) == (401, 401)
    assert click(running, ACTION_RELEVANT, alert_id, user="UGENUINE").status == 200
    assert "recorded as *relevant*" in running.reply()["text"]
    assert [(row.user, row.relevant) for row in feedback(running)] == [("UGENUINE", True)]
