"""Briefings: scheduled weekly briefings, daily digests, on-demand briefings and exports.

schedule.py    pure: when is a run due (weekday, time, IANA zone, now), APScheduler trigger
trend.py       pure: the trend rule (deteriorated / improved / unchanged, with its reason)
data.py        the data of one briefing (builds on bot.summary) and pure aggregations
slack_view.py  Block Kit + templates/briefing/*.slack.j2, split under Slack's limits
export.py      Markdown and self-contained HTML documents
deliver.py     queue a briefing in the outbox (once per period); compose it and its chart
jobs.py        jobs per subscription with explicit ids, start-up catch-up
bot/digest.py  the daily digest (queued and composed the same way)
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.briefing.data import BriefingData, load_briefing
from bot.briefing.deliver import enqueue_briefing
from bot.briefing.schedule import Period, Schedule, latest_run, next_run, period_ending
from bot.briefing.trend import Trend, decide_trend
from bot.config import Settings
from bot.store.db import session_scope
from bot.subscriptions import audit

__all__ = [
    "BriefingData",
    "Period",
    "Schedule",
    "Trend",
    "decide_trend",
    "latest_run",
    "load_briefing",
    "next_run",
    "on_demand",
    "period_ending",
]

log = logging.getLogger(__name__)
ON_DEMAND = timedelta(days=7)
ON_DEMAND_TITLE = "briefing, last 7 days"


def on_demand(
    *, engine: Engine, settings: Settings, situation: str, channel: str, user: str, now: datetime
) -> int | None:
    """`/tocsin brief <situation>`: queue a briefing of the last 7 days for `channel`, now.

    Not deduplicated (a person asked for it; asking twice posts twice). The deliverer sends it
    under the same rules as any message (restricted situations, Slack Connect, blocked channels).
    Returns the outbox id, or None for an unknown situation.
    """
    cfg = settings.situation(situation)
    if cfg is None:
        return None
    with session_scope(engine) as session:
        queued = enqueue_briefing(
            session,
            channel=channel,
            situation=cfg,
            period=Period(start=now - ON_DEMAND, end=now),
            now=now,
            title=ON_DEMAND_TITLE,
            on_demand=True,
            requested_by=user,
        )
        audit(
            session,
            actor=user,
            action="brief",
            now=now,
            channel=channel,
            situation=situation,
            detail={"message_id": queued.id},
        )
    log.info(
        "event=briefing_requested channel=%s situation=%s message=%s", channel, situation, queued.id
    )
    return queued.id
