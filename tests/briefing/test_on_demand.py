"""`/tocsin brief` and `/tocsin summary` through the Bolt app and the mock Slack server."""

from __future__ import annotations

from datetime import timedelta

from tests.briefing import builders
from tests.slack import helpers
from tests.slack.conftest import Running


def reply_text(running: Running) -> str:
    return "\\n".join(helpers.mrkdwn_texts(running.reply()))


def test_brief_posts_the_last_7_days_into_the_channel(running: Running) -> None:
    builders.add_report(
        running.engine, published=helpers.T0 - timedelta(days=2), severity="critical"
    )
    builders.add_report(running.engine, published=helpers.T0 - timedelta(days=9))  # not this week
    running.command("brief sudan")
    assert "is on its way to this channel" in reply_text(running)
    assert running.deliver().delivered == 1  # the briefing, then its chart
    (post,) = running.slack.calls("chat.postMessage")
    assert post.body["channel"] == helpers.PUBLIC
    blocks = post.body["blocks"]
    assert blocks[0]["text"]["text"] == "▲ Sudan — briefing, last 7 days"
    assert "*1* matching reports (1 in the period before)" in blocks[1]["text"]["text"]
    complete = running.slack.wait_for("files.completeUploadExternal")[0]
    assert complete.body["thread_ts"] == running.slack.accepted()[0]["ts"]


def test_summary_answers_from_the_same_aggregation(running: Running) -> None:
    builders.add_report(running.engine, published=helpers.T0 - timedelta(days=2), source="RFI")
    running.command("summary sudan 7d")
    text = reply_text(running)
    assert "1 matching reports (0 in the 7d before)" in text and "RFI (1)" in text
    assert not running.slack.calls("chat.postMessage")


def test_restricted_brief_is_refused_outside_allowed_channels(running: Running) -> None:
    running.command("brief drc-east")
    assert "on its way" not in reply_text(running)
    assert not running.deliver().counts
    assert not running.slack.calls("chat.postMessage")
