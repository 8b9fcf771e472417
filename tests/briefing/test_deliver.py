"""Briefings through the outbox into the mock Slack Web API: once per period, chart in the thread,
the same rules as alerts (restricted situations, Slack Connect)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.briefing.deliver import enqueue_briefing
from bot.briefing.schedule import Period
from bot.digest import enqueue_digest
from bot.outbox.deliverer import Deliverer
from bot.outbox.enqueue import Enqueued
from bot.slack.sink import SlackSink
from bot.store.db import make_engine, session_scope
from bot.store.tables import MessageKind, OutboxMessage
from tests.briefing import builders
from tests.slack.helpers import FakeClock
from tests.slack.mock_slack import MockSlack

PERIOD = Period(start=builders.MONDAY - timedelta(days=7), end=builders.MONDAY)
SETTINGS = builders.settings()
SUDAN = SETTINGS.situation("sudan")
DRC = SETTINGS.situation("drc-east")
assert SUDAN is not None and DRC is not None


def queue(engine: Engine, channel: str = builders.CHANNEL, situation=SUDAN) -> Enqueued:
    with session_scope(engine) as session:
        return enqueue_briefing(
            session, channel=channel, situation=situation, period=PERIOD, now=builders.MONDAY
        )


def rows(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def test_briefing_is_posted_with_its_chart_in_the_thread(
    engine: Engine, slack: MockSlack, deliverer: Deliverer
) -> None:
    builders.week_of_reports(engine)
    assert queue(engine).created
    report = deliverer.drain()
    assert (report.part, report.delivered) == (1, 1)  # the message, then its chart
    (post,) = slack.calls("chat.postMessage")
    assert post.body["channel"] == builders.CHANNEL and post.body["blocks"][0]["type"] == "header"
    assert post.body["metadata"]["event_payload"]["part"] == 0
    (url_call,) = slack.calls("files.getUploadURLExternal")
    assert url_call.body["filename"] == "tocsin-sudan-2024-05-06.png"
    assert int(url_call.body["length"]) == len(slack.uploads["F1"]) > 1000
    assert slack.uploads["F1"].startswith(b"\x89PNG")
    (complete,) = slack.calls("files.completeUploadExternal")
    assert complete.body["channel_id"] == builders.CHANNEL
    (row,) = rows(engine)
    assert complete.body["thread_ts"] == row.message_ts == slack.accepted()[0]["ts"]
    assert (row.kind, row.state, row.parts_sent) == ("briefing", "delivered", 2)
    assert (row.period_start, row.period_end) == (PERIOD.start, PERIOD.end)
    assert row.body and row.body[0]["blocks"] == post.body["blocks"]  # kept for a retry


def test_the_same_period_is_never_briefed_twice(
    engine: Engine, slack: MockSlack, deliverer: Deliverer
) -> None:
    first, second = queue(engine), queue(engine)
    assert first.created and not second.created and first.id == second.id
    deliverer.drain()
    assert not queue(engine).created
    deliverer.drain()
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_failed_briefing_is_queued_again_once(
    engine: Engine, slack: MockSlack, deliverer: Deliverer
) -> None:
    slack.on("chat.postMessage", body={"ok": False, "error": "invalid_blocks"})
    queue(engine)
    assert deliverer.drain().failed == 1
    again = queue(engine)
    assert again.requeued and not queue(engine).requeued  # the second ask finds it queued
    assert deliverer.drain().delivered == 1
    assert [r.state for r in rows(engine)] == ["delivered"]
    assert len(slack.accepted()) == 1


def test_a_chart_upload_failure_does_not_fail_the_briefing(
    engine: Engine, slack: MockSlack, deliverer: Deliverer
) -> None:
    slack.on("files.getUploadURLExternal", body={"ok": False, "error": "missing_scope"})
    queue(engine)
    assert deliverer.drain().delivered == 1
    assert not slack.calls("files.completeUploadExternal")
    assert [r.state for r in rows(engine)] == ["delivered"]
    builders.digest_alert(engine, subscription_id=builders.subscription(engine), created=PERIOD.end)
    with session_scope(engine) as session:  # the channel is not blocked by a missing files:write
        enqueue_digest(
            session, channel=builders.CHANNEL, situation=SUDAN, period=PERIOD, now=PERIOD.end
        )


def test_restricted_briefings_are_withheld_from_channels_shared_outside(
    engine: Engine, slack: MockSlack, deliverer: Deliverer
) -> None:
    slack.on(
        "conversations.info",
        body={"ok": True, "channel": {"id": builders.ALLOWED, "is_ext_shared": True}},
        times=None,
    )
    queue(engine, builders.ALLOWED, DRC)
    queue(engine, "CNOTALLOWED", DRC)
    assert deliverer.drain().withheld == 2
    assert not slack.calls("chat.postMessage")
    assert {r.state for r in rows(engine)} == {"withheld"}


def test_weekly_and_digest_rows_of_the_same_instant_are_both_queued(engine: Engine) -> None:
    common = {"channel": "C1", "situation": SUDAN, "period": PERIOD, "now": builders.MONDAY}
    with session_scope(engine) as session:
        assert enqueue_briefing(session, **common).created  # type: ignore[arg-type]
        assert enqueue_digest(session, **common).created  # type: ignore[arg-type]
        assert not enqueue_digest(session, **common).created  # type: ignore[arg-type]
    assert sorted(r.kind for r in rows(engine)) == [MessageKind.BRIEFING, MessageKind.DIGEST]


def test_concurrent_instances_queue_and_post_exactly_once(db_url: str, slack: MockSlack) -> None:
    """Several instances (own engines, own clients) fire the same briefing at the same moment,
    then all drain the outbox at once."""
    engines = [make_engine(db_url) for _ in range(4)]
    builders.week_of_reports(engines[0])
    barrier = threading.Barrier(len(engines))
    created: list[bool] = []

    def instance(n: int, engine: Engine) -> None:
        clock = FakeClock(builders.MONDAY)
        sink = SlackSink(token="xoxb-t", base_url=slack.base_url, engine=engine, clock=clock)
        deliverer = Deliverer(
            settings=SETTINGS, engine=engine, sink=sink, clock=clock, owner=f"i{n}"
        )
        barrier.wait()
        created.append(queue(engine).created)
        barrier.wait()
        for _ in range(3):
            deliverer.drain()

    try:
        threads = [threading.Thread(target=instance, args=pair) for pair in enumerate(engines)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for e in engines:
            e.dispose()
    assert sorted(created) == [False, False, False, True]
    assert len(slack.calls("chat.postMessage")) == 1
    assert len(slack.calls("files.completeUploadExternal")) == 1
