"""Claim → post → mark, through the mock Slack Web API: at most once, chart in the thread."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.briefing.deliver import SlackPoster, claim, send_briefing
from bot.briefing.schedule import Period
from bot.slack.sink import make_client
from bot.store.db import make_engine, session_scope
from bot.store.tables import Briefing
from tests.briefing import builders
from tests.slack.mock_slack import MockSlack

PERIOD = Period(start=builders.MONDAY - timedelta(days=7), end=builders.MONDAY)
SETTINGS = builders.settings()
SUDAN = SETTINGS.situation("sudan")
DRC = SETTINGS.situation("drc-east")
assert SUDAN is not None and DRC is not None


def send(engine: Engine, poster: SlackPoster, channel: str = builders.CHANNEL, situation=SUDAN):
    return send_briefing(
        engine=engine,
        settings=SETTINGS,
        poster=poster,
        channel=channel,
        situation=situation,
        period=PERIOD,
        now=builders.MONDAY,
    )


def rows(engine: Engine) -> list[Briefing]:
    with session_scope(engine) as session:
        return list(session.exec(select(Briefing)).all())


def test_briefing_is_posted_with_its_chart_in_the_thread(
    engine: Engine, slack: MockSlack, poster: SlackPoster
) -> None:
    builders.week_of_reports(engine)
    outcome = send(engine, poster)
    assert outcome.status == "sent"
    (post,) = slack.calls("chat.postMessage")
    assert post.body["channel"] == builders.CHANNEL and post.body["blocks"][0]["type"] == "header"
    assert outcome.message_ts == slack.accepted()[0]["ts"]
    (url_call,) = slack.calls("files.getUploadURLExternal")
    assert url_call.body["filename"] == "tocsin-sudan-2024-05-06.png"
    assert int(url_call.body["length"]) == len(slack.uploads["F1"]) > 1000
    assert slack.uploads["F1"].startswith(b"\x89PNG")
    (complete,) = slack.calls("files.completeUploadExternal")
    assert complete.body["channel_id"] == builders.CHANNEL
    assert complete.body["thread_ts"] == outcome.message_ts
    assert complete.body["files"][0]["id"] == "F1"
    (row,) = rows(engine)
    assert (row.kind, row.state, row.message_ts) == ("weekly", "sent", outcome.message_ts)
    assert (row.period_start, row.period_end) == (PERIOD.start, PERIOD.end)


def test_the_same_period_is_never_briefed_twice(
    engine: Engine, slack: MockSlack, poster: SlackPoster
) -> None:
    assert send(engine, poster).status == "sent"
    assert send(engine, poster).status == "taken"
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_failed_briefing_can_be_retried_once(
    engine: Engine, slack: MockSlack, poster: SlackPoster
) -> None:
    slack.on("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
    assert send(engine, poster).status == "failed"
    assert rows(engine)[0].state == "failed"
    assert send(engine, poster).status == "sent"
    assert send(engine, poster).status == "taken"
    assert [r.state for r in rows(engine)] == ["sent"]


def test_a_chart_upload_failure_does_not_fail_the_briefing(
    engine: Engine, slack: MockSlack, poster: SlackPoster
) -> None:
    slack.on("files.getUploadURLExternal", body={"ok": False, "error": "missing_scope"})
    assert send(engine, poster).status == "sent"
    assert not slack.calls("files.completeUploadExternal")


def test_restricted_briefings_are_withheld_from_channels_shared_outside(
    engine: Engine, slack: MockSlack, poster: SlackPoster
) -> None:
    slack.on(
        "conversations.info",
        body={"ok": True, "channel": {"id": builders.ALLOWED, "is_ext_shared": True}},
        times=None,
    )
    assert send(engine, poster, builders.ALLOWED, DRC).status == "withheld"
    assert not slack.calls("chat.postMessage") and not rows(engine)


def test_weekly_and_digest_rows_of_the_same_instant_are_both_claimable(engine: Engine) -> None:
    common = {"channel": "C1", "situation": "sudan", "period": PERIOD, "now": builders.MONDAY}
    assert claim(engine, kind="weekly", **common) is not None
    assert claim(engine, kind="digest", **common) is not None
    assert claim(engine, kind="digest", **common) is None


@pytest.mark.parametrize("attempts", [3])
def test_concurrent_senders_post_exactly_once(db_url: str, slack: MockSlack, attempts: int) -> None:
    """Several instances (own engines, own clients) fire the same briefing at the same moment."""
    engines = [make_engine(db_url) for _ in range(4)]
    builders.week_of_reports(engines[0])
    barrier = threading.Barrier(len(engines))
    outcomes: list[str] = []

    def instance(engine: Engine) -> None:
        poster = SlackPoster(make_client(token="xoxb-t", base_url=slack.base_url), engine=engine)
        poster.may_post(builders.CHANNEL, restricted=False)
        barrier.wait()
        outcomes.append(send(engine, poster).status)

    try:
        for _ in range(attempts):
            threads = [threading.Thread(target=instance, args=(e,)) for e in engines]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            barrier.reset()
    finally:
        for e in engines:
            e.dispose()
    assert sorted(outcomes).count("sent") == 1
    assert outcomes.count("taken") == len(engines) * attempts - 1
    assert len(slack.calls("chat.postMessage")) == 1
