from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.sinks import AlertView, ChannelError, DeliveryError, Evidence, RetryableError
from bot.slack.sink import SlackSink
from bot.store.db import session_scope
from bot.store.tables import ChannelState
from tests.slack.helpers import ALLOWED, PUBLIC, SHARED, T0, FakeClock, assert_inert, mrkdwn_texts
from tests.slack.mock_slack import MockSlack

VIEW = AlertView(
    alert_id=42,
    channel=PUBLIC,
    situation="sudan",
    situation_name="Sudan",
    severity="critical",
    score=9.5,
    why="mass killing reported near El Fasher",
    title="<!channel> Attack on camp & <@U0ADMIN> <http://evil.example|click>",
    url="https://news.example.org/a?x=1&y=<2>",
    source="Radio <!here> Dabanga",
    published=T0,
    summary="<!subteam^S123> summary & more",
    language="en",
    evidence=(
        Evidence(code="MASS_KILL", name="Mass killing", phrase="<!everyone>", field="title"),
    ),
)


@pytest.fixture
def sink(engine: Engine, slack: MockSlack, clock: FakeClock) -> SlackSink:
    return SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)


def test_deliver_posts_blocks_text_metadata_and_no_unfurl(
    sink: SlackSink, slack: MockSlack
) -> None:
    delivered = sink.deliver(VIEW)
    (call,) = slack.calls("chat.postMessage")
    body = call.body
    assert body["channel"] == PUBLIC
    assert delivered.message_ts == "1700000000.000001"
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["metadata"] == {"event_type": "tocsin_alert", "event_payload": {"alert_id": 42}}
    assert "thread_ts" not in body
    assert body["blocks"][0]["type"] == "header"
    assert body["blocks"][0]["text"]["text"] == ":rotating_light: CRITICAL · Sudan"
    actions = body["blocks"][-1]
    assert [e["action_id"] for e in actions["elements"]] == [
        "tocsin_feedback_relevant",
        "tocsin_feedback_not_relevant",
        "tocsin_mute",
        "tocsin_escalate",
    ]
    assert {e["value"] for e in actions["elements"]} == {"42"}
    assert call.headers["Authorization"] == "Bearer xoxb-test"


def test_feed_strings_arrive_inert(sink: SlackSink, slack: MockSlack) -> None:
    sink.deliver(VIEW)
    body = slack.calls("chat.postMessage")[0].body
    texts = [body["text"], *mrkdwn_texts(body["blocks"])]
    urls = [u for t in texts for u in assert_inert(t)]
    assert urls == ["https://news.example.org/a?x=1&amp;y=%3C2%3E"]
    joined = "\n".join(texts)
    assert "&lt;!channel&gt; Attack on camp &amp; &lt;@U0ADMIN&gt;" in joined
    assert "&lt;http://evil.example|click&gt;" in joined
    assert "&lt;!subteam^S123&gt; summary &amp; more" in joined
    assert "&amp;amp;" not in joined  # escaped exactly once
    assert all(b["text"].get("verbatim") is True for b in body["blocks"] if b["type"] == "section")


def test_later_items_of_a_story_go_into_the_thread(sink: SlackSink, slack: MockSlack) -> None:
    delivered = sink.deliver(replace(VIEW, thread_ts="1699999999.000100", cluster_size=3))
    body = slack.calls("chat.postMessage")[0].body
    assert body["thread_ts"] == "1699999999.000100"
    assert delivered.thread_ts == "1699999999.000100"
    assert any("3 reports in this story" in t for t in mrkdwn_texts(body["blocks"]))


def test_429_is_retryable_with_retry_after_and_not_retried_by_the_sdk(
    sink: SlackSink, slack: MockSlack
) -> None:
    slack.on(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "7"},
    )
    with pytest.raises(RetryableError) as info:
        sink.deliver(VIEW)
    assert info.value.retry_after == 7.0
    assert info.value.channel == PUBLIC
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retryable(sink: SlackSink, slack: MockSlack, status: int) -> None:
    slack.on("chat.postMessage", status=status, body="<html>oops</html>")
    with pytest.raises(RetryableError):
        sink.deliver(VIEW)
    assert len(slack.calls("chat.postMessage")) == 1


def test_network_error_is_retryable(engine: Engine, clock: FakeClock) -> None:
    closed = MockSlack()
    url = closed.base_url
    closed.close()
    sink = SlackSink(token="xoxb-test", base_url=url, engine=engine, clock=clock)
    with pytest.raises(RetryableError):
        sink.deliver(VIEW)


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
def test_channel_errors_stop_the_channel_and_are_recorded(
    sink: SlackSink, slack: MockSlack, engine: Engine, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    slack.on("chat.postMessage", body={"ok": False, "error": code})
    with pytest.raises(ChannelError) as info:
        sink.deliver(VIEW)
    assert info.value.code == code and info.value.channel == PUBLIC
    with session_scope(engine) as session:
        state = session.get(ChannelState, PUBLIC)
        assert state is not None and state.error == code and state.error_at == T0
    assert any(PUBLIC in r.getMessage() and code in r.getMessage() for r in caplog.records)


def test_other_slack_errors_are_plain_delivery_errors(sink: SlackSink, slack: MockSlack) -> None:
    slack.on("chat.postMessage", body={"ok": False, "error": "invalid_blocks"})
    with pytest.raises(DeliveryError) as info:
        sink.deliver(VIEW)
    assert not isinstance(info.value, RetryableError | ChannelError)


def test_restricted_never_goes_to_ext_shared_channels(sink: SlackSink, slack: MockSlack) -> None:
    slack.on(
        "conversations.info",
        body={"ok": True, "channel": {"id": SHARED, "is_ext_shared": True}},
    )
    assert sink.may_post(SHARED, restricted=True) is False
    assert sink.may_post(SHARED, restricted=False) is True
    assert sink.may_post(ALLOWED, restricted=True) is True


def test_ext_shared_is_cached_and_refreshed(
    sink: SlackSink, slack: MockSlack, clock: FakeClock
) -> None:
    assert sink.may_post(ALLOWED, restricted=True) is True
    assert sink.may_post(ALLOWED, restricted=True) is True
    assert len(slack.calls("conversations.info")) == 1
    clock.advance(timedelta(hours=2))
    slack.on(
        "conversations.info", body={"ok": True, "channel": {"id": ALLOWED, "is_ext_shared": True}}
    )
    assert sink.may_post(ALLOWED, restricted=True) is False
    assert len(slack.calls("conversations.info")) == 2


def test_pending_ext_shared_counts_as_shared(sink: SlackSink, slack: MockSlack) -> None:
    slack.on(
        "conversations.info",
        body={
            "ok": True,
            "channel": {"id": ALLOWED, "is_ext_shared": False, "is_pending_ext_shared": True},
        },
    )
    assert sink.may_post(ALLOWED, restricted=True) is False


@pytest.mark.parametrize(
    "canned",
    [
        {"status": 200, "body": {"ok": False, "error": "missing_scope"}},
        {"status": 500, "body": "x"},
    ],
)
def test_restricted_fails_closed_when_conversations_info_fails(
    sink: SlackSink, slack: MockSlack, canned: dict
) -> None:
    slack.on("conversations.info", **canned)
    assert sink.may_post(ALLOWED, restricted=True) is False


def test_find_delivered_finds_our_metadata(sink: SlackSink, slack: MockSlack) -> None:
    slack.on(
        "conversations.history",
        body={
            "ok": True,
            "messages": [
                {"ts": "1.1", "text": "someone else"},
                {
                    "ts": "1.2",
                    "metadata": {"event_type": "tocsin_alert", "event_payload": {"alert_id": 41}},
                },
                {
                    "ts": "1.3",
                    "metadata": {"event_type": "tocsin_alert", "event_payload": {"alert_id": 42}},
                },
            ],
            "response_metadata": {"next_cursor": ""},
        },
    )
    found = sink.find_delivered(VIEW, since=T0)
    assert found is not None and found.message_ts == "1.3"
    (call,) = slack.calls("conversations.history")
    assert call.body["channel"] == PUBLIC
    assert call.body["include_all_metadata"] in ("1", "true", "True", True)
    assert float(call.body["oldest"]) == T0.timestamp()


def test_find_delivered_pages_and_returns_none_when_absent(
    sink: SlackSink, slack: MockSlack
) -> None:
    slack.on(
        "conversations.history",
        body={"ok": True, "messages": [{"ts": "1"}], "response_metadata": {"next_cursor": "abc"}},
    )
    assert sink.find_delivered(VIEW, since=T0) is None
    calls = slack.calls("conversations.history")
    assert len(calls) == 2 and calls[1].body["cursor"] == "abc"


def test_find_delivered_looks_in_the_thread_for_threaded_alerts(
    sink: SlackSink, slack: MockSlack
) -> None:
    slack.on(
        "conversations.replies",
        body={
            "ok": True,
            "messages": [
                {
                    "ts": "2.2",
                    "metadata": {"event_type": "tocsin_alert", "event_payload": {"alert_id": 42}},
                }
            ],
        },
    )
    found = sink.find_delivered(replace(VIEW, thread_ts="2.1"), since=T0)
    assert found is not None and found.message_ts == "2.2" and found.thread_ts == "2.1"
    assert slack.calls("conversations.replies")[0].body["ts"] == "2.1"


def test_find_delivered_returns_none_when_slack_fails(sink: SlackSink, slack: MockSlack) -> None:
    slack.on("conversations.history", status=500, body="x")
    assert sink.find_delivered(VIEW, since=T0) is None
