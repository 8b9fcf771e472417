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

from bot.outbox.rollup import make_rollups
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
        (vote,) = session.exec(select(Feedback)).all()  # the reviewer's Share: relevant
        assert (vote.alert_id, vote.user, vote.relevant, vote.origin) == (
            review.id,
            USER,
            True,
            "review",
        )
    assert "recorded as *relevant* feedback" in reply["text"]

    click(running, ACTION_REVIEW_SHARE, review.id)  # the same reviewer, again
    assert f"Already shared by <@{USER}>" in running.reply()["text"]
    click(running, ACTION_REVIEW_SHARE, review.id, user=OTHER)  # and someone else
    assert f"Already shared by <@{USER}>" in running.reply()["text"]
    running.deliver()
    assert len(posts(running, PUBLIC)) == 1
    with session_scope(running.engine) as session:  # a click that decides nothing is no vote
        assert len(session.exec(select(Feedback)).all()) == 1


def test_share_with_note_opens_a_modal_and_the_note_travels_escaped(running: Running) -> None:
    queue_alert(running.engine)
    running.deliver()
    review = the_review(running.engine)
    assert review.id is not None
    click(running, ACTION_REVIEW_NOTE, review.id)
    (opened,) = running.slack.wait_for("views.open")
    assert opened.body["trigger_id"] == "1.2.3"
    modal = opened.body["view"]
    assert modal["callback_id"] == VIEW_REVIEW_NOTE
    assert json.loads(modal["private_metadata"]) == {"review": review.id, "channel": REVIEW}
    note = "Confirmed by our field office <!channel> <@U999> & *partners*"
    answer = submit_note(running, review.id, note)
    assert (answer.status, answer.body) == (200, "")  # the modal closes
    running.deliver()
    (shared,) = posts(running, PUBLIC)
    text = text_of(shared)
    assert_inert(text, trusted_ids=frozenset({USER}))
    assert (
        f"Reviewed by <@{USER}>: “Confirmed by our field office &lt;!channel&gt; &lt;@U999&gt; "
        "&amp; *partners*”" in text
    )
    with session_scope(running.engine) as session:
        decision = session.get(ReviewDecision, review.id)
        assert decision is not None and decision.note == note
    answer = submit_note(running, review.id, "a second note", user=OTHER)  # too late
    assert answer.status == 200
    errors = json.loads(answer.body)
    assert errors["response_action"] == "errors"
    assert "Already shared by another reviewer" in errors["errors"][NOTE_BLOCK]
    click(running, ACTION_REVIEW_NOTE, review.id, user=OTHER)  # no modal for a decided review
    assert "Already shared" in running.reply()["text"]
    assert len(running.slack.calls("views.open")) == 1
    running.deliver()
    assert len(posts(running, PUBLIC)) == 1


EVIDENCE = [  # what the match stored: a term, an event and a mention of the situation
    {"kind": "indicator", "key": "MASS_KILL", "term": "killed", "matched": "killed",
     "field": "summary", "start": 14, "end": 20},
    {"kind": "event", "act": "kill", "act_kind": "lethal", "codes": ["MASS_KILL"],
     "victims": ["civilian"], "targets": ["camp"], "phrase": "killed dozens",
     "field": "summary"},
    {"kind": "situation", "key": "sudan", "term": "El Fasher", "matched": "El Fasher",
     "field": "title", "start": 34, "end": 43},
]  # fmt: skip


def test_discard_shares_nothing_and_counts_as_not_relevant(running: Running) -> None:
    alert_id = queue_alert(
        running.engine, indicators=("MASS_KILL", "HATE_SPEECH"), evidence=EVIDENCE
    )
    running.deliver()
    review = the_review(running.engine)
    assert review.id is not None
    click(running, ACTION_REVIEW_DISCARD, review.id)
    assert "Discarded, and recorded as *not relevant*" in running.reply()["text"]
    running.deliver()
    assert posts(running, PUBLIC) == []
    (update,) = running.slack.updates()
    assert f"*Discarded* by <@{USER}>" in text_of(update) and button_ids(update) == []
    with session_scope(running.engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        assert alert is not None and alert.state == MessageState.DISCARDED
        (row,) = session.exec(select(Feedback)).all()
        assert (row.alert_id, row.user, row.relevant, row.situation) == (
            review.id,
            USER,
            False,
            "sudan",
        )
        assert row.indicators == ["MASS_KILL", "HATE_SPEECH"]
        # the vote goes through bot.feedback.record, like a button's, with its evidence
        assert (row.origin, row.item_id, row.feed, row.severity) == (
            "review",
            review.item_id,
            "test",
            "warning",
        )
        assert row.evidence["terms"] == [
            {"key": "MASS_KILL", "term": "killed", "matched": "killed", "field": "summary",
             "start": 14, "end": 20}
        ]  # fmt: skip
        assert [(e["act"], e["victims"], e["targets"]) for e in row.evidence["events"]] == [
            ("kill", ["civilian"], ["camp"])
        ]
        assert [m["matched"] for m in row.evidence["mentions"]] == ["El Fasher"]
        entry = session.exec(select(AuditLog).where(AuditLog.action == "review_discarded")).one()
        assert (entry.actor, entry.detail["alerts"]) == (USER, [alert_id])
        vote = session.exec(select(AuditLog).where(AuditLog.action == "feedback")).one()
        assert (vote.actor, vote.detail["origin"], vote.detail["relevant"]) == (
            USER,
            "review",
            False,
        )
    click(running, ACTION_REVIEW_SHARE, review.id, user=OTHER)  # a Share after the Discard
    assert f"Already discarded by <@{USER}>" in running.reply()["text"]
    running.deliver()
    assert posts(running, PUBLIC) == []


def test_quiet_hours_hold_a_shared_alert_but_never_its_review_card(
    running: Running, clock: helpers.FakeClock
) -> None:
    """Review comes before quiet hours: the card reaches the review channel in its quiet hours
    (in a roll-up it would lose its buttons); once shared, the alert waits for the end of the
    destination's quiet hours like any other ordinary alert, and arrives in their roll-up."""
    for channel in (PUBLIC, REVIEW):
        running.command("quiet 11:00-13:00", channel=channel)  # T0 is 12:00 UTC
        assert "11:00-13:00" in running.reply()["text"]
    alert_id = queue_alert(running.engine, title="Camp attacked near El Fasher")
    running.deliver()
    (card,) = posts(running, REVIEW)
    assert button_ids(card) == [ACTION_REVIEW_SHARE, ACTION_REVIEW_NOTE, ACTION_REVIEW_DISCARD]
    review = the_review(running.engine)
    assert review.id is not None
    click(running, ACTION_REVIEW_SHARE, review.id)
    assert "Shared: it goes to 1 channel" in running.reply()["text"]
    assert running.deliver().held == 1
    assert posts(running, PUBLIC) == []
    with session_scope(running.engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        assert alert is not None and (alert.state, alert.last_error) == (
            MessageState.HELD,
            "quiet hours",
        )
    assert make_rollups(running.engine, now=clock()) == 0  # still quiet
    clock.advance(timedelta(hours=1))  # 13:00: the quiet hours end
    assert make_rollups(running.engine, now=clock()) == 1
    running.deliver()
    (rollup,) = posts(running, PUBLIC)
    assert "Camp attacked near El Fasher" in text_of(rollup)
    assert "Held during this channel's quiet hours" in text_of(rollup)
    with session_scope(running.engine) as session:
        alert = session.get(OutboxMessage, alert_id)
        assert alert is not None and alert.state == MessageState.ROLLED_UP


def test_forged_and_replayed_clicks_share_nothing(running: Running) -> None:
    queue_alert(running.engine)
    running.deliver()
    review = the_review(running.engine)
    assert review.id is not None
    body = helpers.action_body(
        ACTION_REVIEW_SHARE, review.id, response_url=running.slack.response_url(), channel=REVIEW
    )
    assert helpers.post(running.events_url, body, signature="v0=" + "0" * 64).status == 401
    stale = int(helpers.time.time()) - 600  # a replay of an old, once valid request
    assert helpers.post(running.events_url, body, timestamp=stale).status == 401
    click(running, ACTION_REVIEW_SHARE, 999_999)  # signed, but no such review
    assert "not waiting in this channel" in running.reply()["text"]
    click(running, ACTION_REVIEW_SHARE, review.id, channel=PUBLIC)  # signed, wrong channel
    assert "not waiting in this channel" in running.reply()["text"]
    submit_note(running, review.id, "from elsewhere", channel=PUBLIC)
    with session_scope(running.engine) as session:
        assert session.exec(select(ReviewDecision)).all() == []
    running.deliver()
    assert posts(running, PUBLIC) == []


def test_two_reviewers_at_once_share_exactly_once(running: Running) -> None:
    queue_alert(running.engine)
    running.deliver()
    review = the_review(running.engine)
    assert review.id is not None
    reviewers = [f"UREV{i:04d}" for i in range(6)]
    actions = [ACTION_REVIEW_SHARE, ACTION_REVIEW_DISCARD] * 3
    start = threading.Barrier(len(reviewers))
    answers: list[int] = []

    def review_as(user: str, action: str) -> None:
        body = helpers.action_body(
            action,
            review.id or 0,
            response_url=running.slack.response_url(user),
            channel=REVIEW,
            user=user,
        )
        start.wait()
        answers.append(helpers.post(running.events_url, body).status)

    threads = [
        threading.Thread(target=review_as, args=(user, action))
        for user, action in zip(reviewers, actions, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * len(reviewers)
    replies = [c.body["text"] for c in running.slack.wait_for("response", count=len(reviewers))]
    done = [r for r in replies if not r.startswith("Already")]
    assert len(done) == 1, replies
    with session_scope(running.engine) as session:
        (decision,) = session.exec(select(ReviewDecision)).all()
        assert decision.actor in reviewers
    running.deliver()
    assert len(posts(running, PUBLIC)) == (1 if decision.decision == "shared" else 0)
    assert all(f"<@{decision.actor}>" in r for r in replies if r.startswith("Already"))


def test_a_critical_alert_goes_on_unreviewed_after_the_timeout(running: Running) -> None:
    critical = queue_alert(
        running.engine, review_timeout=7200, severity="critical", title="Critical", guid="c"
    )
    warning = queue_alert(running.engine, review_timeout=7200, title="Warning", guid="w")
    running.deliver()
    assert len(rows(running.engine, MessageKind.REVIEW)) == 2
    clock = running.deliverer.clock
    assert isinstance(clock, helpers.FakeClock)
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert settle_reviews(running.engine, settings=running.app.services.settings, now=clock()) == 0
    clock.advance(timedelta(seconds=1))
    assert settle_reviews(running.engine, settings=running.app.services.settings, now=clock()) == 1
    # a second instance sweeping at the same moment finds nothing left to release
    assert settle_reviews(running.engine, settings=running.app.services.settings, now=clock()) == 0
    running.deliver()
    (sent,) = posts(running, PUBLIC)
    assert "*Not yet reviewed*: critical, sent after 2h without a reviewer" in text_of(sent)
    assert "Critical" in sent["text"]
    with session_scope(running.engine) as session:
        alerts = session.exec(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.ALERT))
        states = {a.id: a.state for a in alerts}
        assert states == {critical: MessageState.DELIVERED, warning: MessageState.REVIEW}
        entry = session.exec(select(AuditLog).where(AuditLog.action == "review_timeout")).one()
        assert (entry.actor, entry.detail["alert"]) == ("tocsin", critical)
    updated = running.slack.updates()
    assert any("(sent unreviewed)" in text_of(u) for u in updated)
    # the reviewer comes back: Share sends the critical alert no second time
    reviews = rows(running.engine, MessageKind.REVIEW)
    review_id = next(r.id for r in reviews if r.severity == "critical")
    assert review_id is not None
    click(running, ACTION_REVIEW_SHARE, review_id)
    assert "nothing was waiting any more" in running.reply()["text"]
    running.deliver()
    assert len(posts(running, PUBLIC)) == 1
    clock.advance(timedelta(days=30))  # without a reviewer, a warning never goes out
    assert settle_reviews(running.engine, settings=running.app.services.settings, now=clock()) == 0


def test_without_a_timeout_nothing_goes_out_unreviewed(running: Running) -> None:
    queue_alert(running.engine, severity="critical")
    running.deliver()
    clock = running.deliverer.clock
    assert isinstance(clock, helpers.FakeClock)
    clock.advance(timedelta(days=7))
    assert settle_reviews(running.engine, settings=running.app.services.settings, now=clock()) == 0
    running.deliver()
    assert posts(running, PUBLIC) == []


def test_slash_review_lists_what_waits_escaped_with_its_age(running: Running) -> None:
    queue_alert(running.engine, title="Old <!here> report", guid="old")
    running.deliver()
    clock = running.deliverer.clock
    assert isinstance(clock, helpers.FakeClock)
    clock.advance(timedelta(hours=3, minutes=20))
    queue_alert(running.engine, title="Newer report", guid="new", published=clock())
    running.deliver()
    running.command("review")
    reply = running.reply()
    assert reply["response_type"] == "ephemeral"
    text = reply["text"]
    assert_inert(text, trusted_ids=frozenset({REVIEW, PUBLIC}))
    assert "*Waiting for review* (2)" in text
    assert text.index("Old &lt;!here&gt; report") < text.index("Newer report")
    assert f"waiting 3h20m in <#{REVIEW}> for <#{PUBLIC}>" in text
    assert f"waiting &lt;1m in <#{REVIEW}>" in text
    review = next(r for r in rows(running.engine, MessageKind.REVIEW))
    assert review.id is not None
    click(running, ACTION_REVIEW_DISCARD, review.id)
    running.reply()
    running.command("review")
    text = running.reply()["text"]
    assert "*Waiting for review* (1)" in text and "Old" not in text


def test_app_home_shows_the_review_queue_of_the_users_channels(running: Running) -> None:
    queue_alert(running.engine, title="Waits <!channel> here")
    running.deliver()
    running.slack.on(
        "users.conversations",
        body={"ok": True, "channels": [{"id": REVIEW}], "response_metadata": {"next_cursor": ""}},
    )
    body = helpers.event_body(
        {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"}
    )
    assert helpers.post(running.events_url, body, content_type="application/json").status == 200
    (call,) = running.slack.wait_for("views.publish")
    texts = mrkdwn_texts(call.body["view"]["blocks"])
    for text in texts:
        assert_inert(text, trusted_ids=frozenset({REVIEW, PUBLIC}))
    joined = "\n".join(texts)
    assert "*Waiting for review* (1)" in joined and "Waits &lt;!channel&gt; here" in joined


def test_subscribe_with_review_then_an_alert_goes_to_the_review_channel(running: Running) -> None:
    running.command(f"subscribe myanmar review:<#{REVIEW}|myanmar-review> timeout:90m")
    assert f"Alerts are reviewed in <#{REVIEW}>" in running.reply()["text"]
    sub_query = select(Subscription).where(Subscription.situation == "myanmar")
    with session_scope(running.engine) as session:
        sub = session.exec(sub_query).one()
        assert (sub.review_channel, sub.review_timeout) == (REVIEW, 5400)
    helpers.make_alert(running.engine, situation="myanmar", state="queued")
    running.deliver()
    assert posts(running, PUBLIC) == [] and len(posts(running, REVIEW)) == 1
    running.command("subscribe myanmar min:warning")  # other options keep the review
    running.reply()
    running.command("subscribe list")
    assert f"reviewed in <#{REVIEW}> first" in running.reply()["text"]
    running.command("subscribe myanmar review:none")
    running.reply()
    with session_scope(running.engine) as session:
        sub = session.exec(sub_query).one()
        assert (sub.review_channel, sub.review_timeout) == (None, None)


def test_a_restricted_situation_cannot_be_reviewed_in_a_channel_that_may_not_see_it(
    running: Running,
) -> None:
    running.command(f"subscribe drc-east review:{REVIEW}", channel=helpers.ALLOWED)
    reply = running.reply()["text"]
    assert "cannot be followed here: the review channel cannot have it" in reply
    running.command("subscribe sudan timeout:2h")
    assert "add review:&lt;channel&gt; too" in running.reply()["text"]
    with session_scope(running.engine) as session:
        assert session.exec(select(Subscription).where(Subscription.origin == "slack")).all() == []


def test_a_note_form_that_is_not_ours_is_refused_in_the_form(running: Running) -> None:
    queue_alert(running.engine)
    running.deliver()
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "t"},
        "user": {"id": USER, "username": "someone", "team_id": "T1"},
        "api_app_id": "A1",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": VIEW_REVIEW_NOTE,
            "private_metadata": "{not json",
            "state": {"values": {}},
        },
    }
    answer = helpers.post(running.events_url, urlencode({"payload": json.dumps(payload)}))
    assert answer.status == 200
    errors = json.loads(answer.body)
    assert errors == {
        "response_action": "errors",
        "errors": {NOTE_BLOCK: "This form is not one of Tocsin's."},
    }
    with session_scope(running.engine) as session:
        assert session.exec(select(ReviewDecision)).all() == []


def test_metrics_count_alerts_put_up_for_review_and_those_waiting(running: Running) -> None:
    from bot.metrics import DatabaseGauges, process_metrics

    before = process_metrics().value("tocsin_alerts_total", event="review")
    queue_alert(running.engine)
    running.deliver()
    assert process_metrics().value("tocsin_alerts_total", event="review") == before + 1
    gauges = {
        metric.name: metric.samples[0].value
        for metric in DatabaseGauges(running.engine, clock=running.deliverer.clock).collect()
    }
    assert gauges["tocsin_outbox_review"] == 1


def test_slash_review_shows_the_oldest_twenty_and_drops_what_went_on_unreviewed(
    running: Running,
) -> None:
    for n in range(21):
        queue_alert(running.engine, title=f"Report {n:02d}", guid=f"r{n}", review_timeout=3600)
    queue_alert(
        running.engine, title="Critical one", guid="crit", severity="critical", review_timeout=3600
    )
    running.deliver()
    running.command("review")
    text = running.reply()["text"]
    assert "*Waiting for review* (22; the oldest 20 shown)" in text
    assert "Report 00" in text and "Report 19" in text and "Report 20" not in text
    clock = running.deliverer.clock
    assert isinstance(clock, helpers.FakeClock)
    clock.advance(timedelta(hours=1))
    assert settle_reviews(running.engine, settings=running.app.services.settings, now=clock()) == 1
    running.command("review")
    assert "*Waiting for review* (21; the oldest 20 shown)" in running.reply()["text"]
