"""Claim, post, mark: each channel × situation × kind × period is briefed at most once.

    claim    INSERT a `Briefing` row (state "claimed"); the unique key decides between restarts
             and instances: IntegrityError → someone else has this period, do nothing.
             A row left "failed" may be taken over by one conditional UPDATE.
    post     first message, continuations in its thread, then the chart (files_upload_v2) there.
    mark     state "sent" with the first message's ts, or "failed" with nothing posted.

A crash between claim and mark leaves "claimed": never re-sent automatically (at most once).

    BriefingError            carries channel and situation
    └── (Slack failures are caught here and recorded as state "failed")
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot import charts
from bot.briefing.data import BriefingData, load_briefing
from bot.briefing.schedule import Period
from bot.briefing.slack_view import briefing_messages
from bot.config import Settings, SituationSettings
from bot.render import Message
from bot.slack.channels import ChannelDirectory
from bot.slack.sink import NETWORK_ERRORS, post_message
from bot.store.db import session_scope
from bot.store.tables import Briefing

log = logging.getLogger(__name__)
FAILURES: tuple[type[BaseException], ...] = (SlackClientError, *NETWORK_ERRORS)
WEEKLY_TITLE = "weekly briefing"


class BriefingError(Exception):
    def __init__(self, message: str, *, channel: str, situation: str) -> None:
        super().__init__(message)
        self.channel = channel
        self.situation = situation


@dataclass(frozen=True, kw_only=True)
class Chart:
    png: bytes
    filename: str
    title: str
    alt: str


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """sent | taken (another run has it) | withheld | empty | failed | not_due."""

    status: str
    message_ts: str | None = None
    detail: str = ""


class SlackPoster:
    """Posts rendered messages (and a chart) to one channel over the Slack Web API."""

    def __init__(self, client: WebClient, *, engine: Engine, unfurl_links: bool = False) -> None:
        self.client = client
        self.channels = ChannelDirectory(client=client, engine=engine)
        self.unfurl_links = unfurl_links

    def may_post(self, channel: str, *, restricted: bool) -> bool:
        return self.channels.may_post(channel, restricted=restricted)

    def post(self, *, channel: str, messages: Sequence[Message], chart: Chart | None) -> str:
        """Post; returns the first message's ts. Raises a FAILURES error if the first post fails."""
        first: str | None = None
        for message in messages:
            response = post_message(
                self.client,
                channel=channel,
                message=message,
                thread_ts=first,
                unfurl_links=self.unfurl_links,
            )
            first = first or str(response["ts"])
        assert first is not None, "post at least one message"
        if chart is not None:
            self._upload(channel=channel, thread_ts=first, chart=chart)
        return first

    def _upload(self, *, channel: str, thread_ts: str, chart: Chart) -> None:
        try:
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                content=chart.png,
                filename=chart.filename,
                title=chart.title,
                alt_txt=chart.alt,
            )
        except FAILURES as exc:  # the briefing itself went out; the chart is a bonus
            log.warning("event=briefing_chart_failed channel=%s error=%r", channel, exc)


def make_chart(data: BriefingData) -> Chart:
    names = data.summary.factor_names
    return Chart(
        png=charts.weekly_factor_chart(
            data.weeks, names, title=f"{data.situation.name}: matching reports by risk factor"
        ),
        filename=f"tocsin-{data.situation.slug}-{data.period.end:%Y-%m-%d}.png",
        title=f"{data.situation.name} — last {len(data.weeks)} weeks",
        alt=charts.alt_text(data.weeks, names),
    )


def claim(
    engine: Engine, *, channel: str, situation: str, kind: str, period: Period, now: datetime
) -> int | None:
    """The Briefing row's id if this run may post the period; None if another run has it."""
    try:
        with session_scope(engine) as session:
            row = Briefing(
                channel=channel,
                situation=situation,
                kind=kind,
                period_start=period.start,
                period_end=period.end,
                state="claimed",
                created_at=now,
            )
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        pass
    with session_scope(engine) as session:  # a failed attempt may be retried, by one taker only
        key = (
            (col(Briefing.channel) == channel)
            & (col(Briefing.situation) == situation)
            & (col(Briefing.kind) == kind)
            & (col(Briefing.period_start) == period.start)
        )
        taken = session.execute(
            update(Briefing)
            .where(key & (col(Briefing.state) == "failed"))
            .values(state="claimed", created_at=now)
            .returning(col(Briefing.id))
        ).first()
        return None if taken is None else int(taken[0])


def finish(
    engine: Engine,
    briefing_id: int,
    *,
    state: str,
    message_ts: str | None = None,
    also: Callable[[Session, str], None] | None = None,
) -> None:
    """Mark the row; `also(session, ts)` records more in the same transaction (digests)."""
    with session_scope(engine) as session:
        row = session.get(Briefing, briefing_id)
        assert row is not None
        row.state, row.message_ts = state, message_ts
        if also is not None and message_ts is not None:
            also(session, message_ts)


def claimed_post(
    *,
    engine: Engine,
    poster: SlackPoster,
    channel: str,
    situation: SituationSettings,
    kind: str,
    period: Period,
    now: datetime,
    produce: Callable[[], tuple[Sequence[Message], Chart | None] | None],
    on_sent: Callable[[Session, str], None] | None = None,
) -> Outcome:
    """Claim the period, produce the messages (None: nothing to say), post them, mark the row."""
    if not poster.may_post(channel, restricted=situation.sensitivity == "restricted"):
        log.warning("event=briefing_withheld channel=%s situation=%s", channel, situation.slug)
        return Outcome(status="withheld", detail="restricted situation; channel shared outside")
    briefing_id = claim(
        engine, channel=channel, situation=situation.slug, kind=kind, period=period, now=now
    )
    if briefing_id is None:
        return Outcome(status="taken")
    try:
        produced = produce()
        if produced is None:
            finish(engine, briefing_id, state="empty")
            return Outcome(status="empty")
        messages, chart = produced
        ts = poster.post(channel=channel, messages=messages, chart=chart)
    except FAILURES as exc:
        finish(engine, briefing_id, state="failed")
        log.error(
            "event=briefing_failed kind=%s channel=%s situation=%s error=%r",
            kind,
            channel,
            situation.slug,
            exc,
        )
        return Outcome(status="failed", detail=str(exc))
    except BaseException:
        finish(engine, briefing_id, state="failed")
        raise
    finish(engine, briefing_id, state="sent", message_ts=ts, also=on_sent)
    log.info(
        "event=briefing_sent kind=%s channel=%s situation=%s ts=%s",
        kind,
        channel,
        situation.slug,
        ts,
    )
    return Outcome(status="sent", message_ts=ts)


def briefing_payload(
    engine: Engine, *, settings: Settings, situation: SituationSettings, period: Period, title: str
) -> tuple[list[Message], Chart]:
    with session_scope(engine) as session:
        data = load_briefing(session, settings=settings, situation=situation, period=period)
    return briefing_messages(data, title=title, chart=True), make_chart(data)


def send_briefing(
    *,
    engine: Engine,
    settings: Settings,
    poster: SlackPoster,
    channel: str,
    situation: SituationSettings,
    period: Period,
    now: datetime,
    title: str = WEEKLY_TITLE,
) -> Outcome:
    """The weekly briefing of `situation` for `period` into `channel`, at most once."""
    return claimed_post(
        engine=engine,
        poster=poster,
        channel=channel,
        situation=situation,
        kind="weekly",
        period=period,
        now=now,
        produce=lambda: briefing_payload(
            engine, settings=settings, situation=situation, period=period, title=title
        ),
    )
