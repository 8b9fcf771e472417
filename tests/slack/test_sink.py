"""SlackSink against the mock Slack Web API: what it sends, and how it reads Slack's answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.outbox.compose import as_post
from bot.sinks import ChannelError, DeliveryError, RateLimitedError, RetryableError, Upload
from bot.slack.blocks import alert_message
from bot.slack.sink import SlackSink
from tests.slack.helpers import ALLOWED, PUBLIC, SHARED, T0, FakeClock, mrkdwn_texts
from tests.slack.mock_slack import MockSlack
from tests.slack.test_render import view

MESSAGE = alert_message(view(alert_id=42, channel=PUBLIC, severity="critical"))
POST = as_post(MESSAGE, message_id=42, part=0, channel=PUBLIC)


@pytest.fixture
def sink(engine: Engine, slack: MockSlack, clock: FakeClock) -> SlackSink:
    return SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)


def test_post_sends_blocks_text_metadata_and_no_unfurl(sink: SlackSink, slack: MockSlack) -> None:
    posted = sink.post(POST)
    (call,) = slack.calls("chat.postMessage")
    body = call.body
    assert body["channel"] == PUBLIC
    assert posted.ts == "1700000000.000001"
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["parse"] == "none" and body["link_names"] is False
    assert body["metadata"] == {
        "event_type": "tocsin_message",
        "event_payload": {"message_id": 42, "part": 0},
    }
    assert "thread_ts" not in body and "reply_broadcast" not in body
    assert body["blocks"][0]["text"]["text"] == ":rotating_light: CRITICAL · Sudan"
    assert {e["value"] for e in body["blocks"][-1]["elements"]} == {"42"}
    assert call.headers["Authorization"] == "Bearer xoxb-test"


def test_replies_go_into_the_thread_and_may_be_broadcast(sink: SlackSink, slack: MockSlack) -> None:
    sink.post(replace(POST, thread_ts="1699999999.000100", broadcast=True))
    body = slack.calls("chat.postMessage")[0].body
    assert body["thread_ts"] == "1699999999.000100"
    assert body["reply_broadcast"] is True
    (kept,) = slack.accepted()
    assert kept["reply_broadcast"] and kept["thread_ts"] == "1699999999.000100"


def test_an_update_edits_the_message_in_place(sink: SlackSink, slack: MockSlack) -> None:
    ts = sink.post(POST).ts
    edited = replace(POST, text="edited", update_ts=ts)
    assert sink.post(edited).ts == ts
    (update,) = slack.calls("chat.update")
    assert update.body["ts"] == ts and update.body["channel"] == PUBLIC
    assert update.body["metadata"]["event_payload"] == {"message_id": 42, "part": 0}
    assert slack.accepted()[0]["text"] == "edited"
    with pytest.raises(DeliveryError):  # a message that no longer exists cannot be edited
        sink.post(replace(edited, update_ts="1.000001"))


def test_upload_shares_the_file_in_the_thread(sink: SlackSink, slack: MockSlack) -> None:
    sink.upload(
        Upload(
            message_id=7,
            channel=PUBLIC,
            thread_ts="1.1",
            content=b"\x89PNG chart",
            filename="chart.png",
            title="Chart",
            alt="a chart",
        )
    )
    (complete,) = slack.calls("files.completeUploadExternal")
    assert complete.body["thread_ts"] == "1.1" and complete.body["channel_id"] == PUBLIC
    assert slack.uploads["F1"] == b"\x89PNG chart"


def test_429_is_rate_limited_with_retry_after_and_not_retried_by_the_sdk(
    sink: SlackSink, slack: MockSlack
) -> None:
    slack.on(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "7"},
    )
    with pytest.raises(RateLimitedError) as info:
        sink.post(POST)
    assert info.value.retry_after == 7.0
    assert info.value.channel == PUBLIC
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retryable(sink: SlackSink, slack: MockSlack, status: int) -> None:
    slack.on("chat.postMessage", status=status, body="<html>oops</html>")
    with pytest.raises(RetryableError):
        sink.post(POST)
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("body", ["{not json", "<html>proxy</html>", ""])
def test_an_unreadable_answer_is_retryable_not_a_rejection(
    sink: SlackSink, slack: MockSlack, body: str
) -> None:
    """A 200 whose body is not JSON may mean Slack took the post: retry (after looking)."""
    slack.on("chat.postMessage", status=200, body=body)
    with pytest.raises(RetryableError):
        sink.post(POST)


def test_network_error_is_retryable(engine: Engine, clock: FakeClock) -> None:
    closed = MockSlack()
    url = closed.base_url
    closed.close()
    sink = SlackSink(token="xoxb-test", base_url=url, engine=engine, clock=clock)
    with pytest.raises(RetryableError):
        sink.post(POST)


@pytest.mark.parametrize(
    "code",
    [
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "restricted_action",
    ],
)
def test_channel_errors_name_the_channel_and_code(
    sink: SlackSink, slack: MockSlack, code: str
) -> None:
    slack.on("chat.postMessage", body={"ok": False, "error": code})
    with pytest.raises(ChannelError) as info:
        sink.post(POST)
    assert info.value.code == code and info.value.channel == PUBLIC


def test_other_slack_errors_are_plain_delivery_errors(sink: SlackSink, slack: MockSlack) -> None:
    slack.on("chat.postMessage", body={"ok": False, "error": "invalid_blocks"})
    with pytest.raises(DeliveryError) as info:
        sink.post(POST)
    assert not isinstance(info.value, RetryableError | ChannelError | RateLimitedError)


def test_ext_shared_comes_from_conversations_info(sink: SlackSink, slack: MockSlack) -> None:
    slack.on(
        "conversations.info",
        body={"ok": True, "channel": {"id": SHARED, "is_ext_shared": True}},
    )
    assert sink.is_ext_shared(SHARED) is True
    assert sink.is_ext_shared(ALLOWED) is False


def test_ext_shared_is_cached_and_refreshed(
    sink: SlackSink, slack: MockSlack, clock: FakeClock
) -> None:
    assert sink.is_ext_shared(ALLOWED) is False
    assert sink.is_ext_shared(ALLOWED) is False
    assert len(slack.calls("conversations.info")) == 1
    clock.advance(timedelta(hours=2))
    slack.on(
        "conversations.info", body={"ok": True, "channel": {"id": ALLOWED, "is_ext_shared": True}}
    )
    assert sink.is_ext_shared(ALLOWED) is True
    assert len(slack.calls("conversations.info")) == 2


def test_pending_ext_shared_counts_as_shared(sink: SlackSink, slack: MockSlack) -> None:
    slack.on(
        "conversations.info",
        body={
            "ok": True,
            "channel": {"id": ALLOWED, "is_ext_shared": False, "is_pending_ext_shared": True},
        },
    )
    assert sink.is_ext_shared(ALLOWED) is True


@pytest.mark.parametrize(
    "canned",
    [
        {"status": 200, "body": {"ok": False, "error": "missing_scope"}},
        {"status": 500, "body": "x"},
    ],
)
def test_ext_shared_is_unknown_when_conversations_info_fails(
    sink: SlackSink, slack: MockSlack, canned: dict
) -> None:
    slack.on("conversations.info", **canned)
    assert sink.is_ext_shared(ALLOWED) is None  # bot.access treats unknown as shared


def ours(ts: str, message_id: int, part: int = 0) -> dict:
    return {
        "ts": ts,
        "metadata": {
            "event_type": "tocsin_message",
            "event_payload": {"message_id": message_id, "part": part},
        },
    }


def test_find_posted_finds_our_metadata(sink: SlackSink, slack: MockSlack) -> None:
    slack.on(
        "conversations.history",
        body={
            "ok": True,
            "messages": [
                {"ts": "1.1", "text": "someone else"},
                ours("1.2", 41),
                ours("1.3", 42, part=1),
                ours("1.4", 42),
            ],
            "response_metadata": {"next_cursor": ""},
        },
    )
    found = sink.find_posted(POST, since=T0)
    assert found is not None and found.ts == "1.4"
    (call,) = slack.calls("conversations.history")
    assert call.body["channel"] == PUBLIC
    assert call.body["include_all_metadata"] in ("1", "true", "True", True)
    assert float(call.body["oldest"]) == T0.timestamp()


def test_find_posted_recognises_messages_posted_before_the_outbox(
    sink: SlackSink, slack: MockSlack
) -> None:
    legacy = {"event_type": "tocsin_alert", "event_payload": {"alert_id": 42}}
    slack.on(
        "conversations.history", body={"ok": True, "messages": [{"ts": "1.5", "metadata": legacy}]}
    )
    found = sink.find_posted(POST, since=T0)
    assert found is not None and found.ts == "1.5"


def test_find_posted_pages_and_returns_none_when_absent(sink: SlackSink, slack: MockSlack) -> None:
    slack.on(
        "conversations.history",
        body={"ok": True, "messages": [{"ts": "1"}], "response_metadata": {"next_cursor": "abc"}},
    )
    assert sink.find_posted(POST, since=T0) is None
    calls = slack.calls("conversations.history")
    assert len(calls) == 2 and calls[1].body["cursor"] == "abc"


def test_find_posted_looks_in_the_thread_for_replies(sink: SlackSink, slack: MockSlack) -> None:
    slack.on("conversations.replies", body={"ok": True, "messages": [ours("2.2", 42)]})
    found = sink.find_posted(replace(POST, thread_ts="2.1"), since=T0)
    assert found is not None and found.ts == "2.2"
    assert slack.calls("conversations.replies")[0].body["ts"] == "2.1"


def test_find_posted_returns_none_when_slack_fails(sink: SlackSink, slack: MockSlack) -> None:
    slack.on("conversations.history", status=500, body="x")
    assert sink.find_posted(POST, since=T0) is None


def test_feed_text_reaches_slack_inert(sink: SlackSink, slack: MockSlack) -> None:
    nasty = view(title="<!channel> & <@U0ADMIN>", summary="<!subteam^S1> & more", source="<!here>")
    message = alert_message(nasty)
    sink.post(as_post(message, message_id=42, part=0, channel=PUBLIC))
    joined = "\n".join(mrkdwn_texts(slack.calls("chat.postMessage")[0].body["blocks"]))
    assert "&lt;!channel&gt; &amp; &lt;@U0ADMIN&gt;" in joined and "&amp;amp;" not in joined
