"""Briefings into the outbox: queue each channel × situation × period once; compose it when sent.

    enqueue_briefing   a `briefing` row whose dedupe key is the channel, situation and period
                       start: instances and restarts that ask for the same period find the first
                       row (a row that failed is queued again). An on-demand briefing
                       (`/tocsin brief`) is a `briefing_on_demand` row without a key: asking
                       twice posts twice.
    compose_briefing   at its first attempt, the deliverer renders the briefing's messages (they
                       are kept with the row, so a retry sends the very same parts); the chart
                       (`briefing_chart`) follows as the last part, in the first message's thread.

The deliverer applies the same policy as to alerts (restricted situations, blocked channels,
Slack Connect, pacing), so a briefing reaches exactly the channels an alert would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot import charts
from bot.briefing.data import BriefingData, load_briefing
from bot.briefing.schedule import Period
from bot.briefing.slack_view import briefing_messages
from bot.config import Settings, SituationSettings
from bot.outbox.enqueue import Enqueued, enqueue, period_key
from bot.render import Message
from bot.store.tables import MessageKind, OutboxMessage

WEEKLY_TITLE = "weekly briefing"


@dataclass(frozen=True, kw_only=True)
class Chart:
    png: bytes
    filename: str
    title: str
    alt: str


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


def enqueue_briefing(
    session: Session,
    *,
    channel: str,
    situation: SituationSettings,
    period: Period,
    now: datetime,
    subscription_id: int | None = None,
    title: str = WEEKLY_TITLE,
    on_demand: bool = False,
    requested_by: str | None = None,
) -> Enqueued:
    """Queue the briefing of `situation` for `period` into `channel` (a weekly one only once)."""
    key = None
    if not on_demand:
        key = period_key("briefing", channel=channel, situation=situation.slug, start=period.start)
    return enqueue(
        session,
        kind=MessageKind.BRIEFING_ON_DEMAND if on_demand else MessageKind.BRIEFING,
        channel=channel,
        situation=situation.slug,
        now=now,
        dedupe_key=key,
        subscription_id=subscription_id,
        payload={"title": title, "chart": True, "requested_by": requested_by},
        period=(period.start, period.end),
    )


def _data(session: Session, row: OutboxMessage, *, settings: Settings) -> BriefingData | None:
    situation = settings.situation(row.situation)
    if situation is None or row.period_start is None or row.period_end is None:
        return None
    period = Period(start=row.period_start, end=row.period_end)
    return load_briefing(session, settings=settings, situation=situation, period=period)


def compose_briefing(session: Session, row: OutboxMessage, *, settings: Settings) -> list[Message]:
    data = _data(session, row, settings=settings)
    if data is None:
        return []
    title = str(row.payload.get("title") or WEEKLY_TITLE)
    return briefing_messages(data, title=title, chart=bool(row.payload.get("chart")))


def briefing_chart(session: Session, row: OutboxMessage, *, settings: Settings) -> Chart | None:
    data = _data(session, row, settings=settings)
    return None if data is None else make_chart(data)
