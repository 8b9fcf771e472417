"""The delivery loop `tocsin run` uses, and the console sink: the same messages Slack gets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Console
from sqlalchemy.engine import Engine

from bot.console import ConsoleSink, plain
from bot.outbox.compose import as_post
from bot.outbox.deliverer import Deliverer
from bot.outbox.loop import DeliveryLoop
from bot.runtime import utc_now
from bot.sinks import Post, Posted, Upload
from bot.slack.blocks import alert_message, follow_up_message
from tests.slack.test_render import view
from tests.test_outbox import SETTINGS, FakeSink, make_alerts


@dataclass
class SignallingSink(FakeSink):
    """A FakeSink that says when it has received `expected` posts."""

    expected: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def post(self, post: Post) -> Posted:
        posted = super().post(post)
        if len(self.posts) >= self.expected:
            self.done.set()
        return posted


def test_the_loop_drains_at_once_and_again_when_woken(engine: Engine) -> None:
    ids = make_alerts(engine, 3)  # due long ago (T0), the real clock delivers them at once
    sink = SignallingSink(expected=3)
    deliverer = Deliverer(settings=SETTINGS, engine=engine, sink=sink, clock=utc_now, owner="l")
    loop = DeliveryLoop(deliverer, idle=timedelta(minutes=10)).start()  # only a wake-up helps
    try:
        assert sink.done.wait(timeout=30)
        assert sink.ids() == ids
        sink.done.clear()
        sink.expected = 4
        more = make_alerts(engine, 1)  # queued by "this instance" …
        loop.wake()  # … which wakes the loop, as the poll job does
        assert sink.done.wait(timeout=30)
        assert sink.ids() == [*ids, *more]
    finally:
        loop.shutdown()


def test_the_console_shows_what_slack_would_as_plain_text() -> None:
    console = Console(record=True, width=100)
    sink = ConsoleSink(console)
    alert = view(title="Killings & <!channel> in El Fasher", why="mass killing reported")
    message = alert_message(alert)
    first = sink.post(as_post(message, message_id=1, part=0, channel="C1", severity="warning"))
    reply = follow_up_message(alert, rose_from="watch")
    sink.post(
        as_post(reply, message_id=2, part=0, channel="C1", thread_ts=first.ts, broadcast=True)
    )
    edit = sink.post(
        Post(message_id=1, part=0, channel="C1", text="x", blocks=(), update_ts=first.ts)
    )
    sink.upload(
        Upload(
            message_id=3,
            channel="C1",
            thread_ts=None,
            content=b"png",
            filename="c.png",
            title="t",
            alt="a chart",
        )
    )
    out = console.export_text()
    assert "WARNING · Sudan → C1" in out and "⚠" in out  # emoji codes become emoji
    assert "Killings & <!channel> in El Fasher (https://news.example.org/1)" in out
    assert "Why: mass killing reported" in out
    assert "&amp;" not in out and "<https" not in out
    assert "C1 (in thread, also in the channel)" in out and "rose from watch" in out
    assert "C1 (updated)" in out and edit.ts == first.ts
    assert "[file] c.png (3 bytes) → C1: a chart" in out
    assert sink.count == 2  # new messages, not the edit


def test_plain_reads_dates_links_and_mentions() -> None:
    assert plain("<!date^1^{date}|2024-05-06 12:00 UTC> &lt;b&gt;") == "2024-05-06 12:00 UTC <b>"
    assert (
        plain("*Bold* <https://x.example|X> <@U123> <#C123>")
        == "Bold X (https://x.example) U123 C123"
    )
