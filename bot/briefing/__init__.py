"""Briefings: scheduled weekly briefings, daily digests, on-demand briefings and exports.

schedule.py    pure: when is a run due (weekday, time, IANA zone, now), APScheduler trigger
trend.py       pure: the trend rule (deteriorated / improved / unchanged, with its reason)
data.py        the data of one briefing (builds on bot.summary) and pure aggregations
slack_view.py  Block Kit + templates/briefing/*.slack.j2, split under Slack's limits
export.py      Markdown and self-contained HTML documents
deliver.py     claim (Briefing row) → post (Slack, chart via files_upload_v2) → mark
jobs.py        jobs per subscription with explicit ids, start-up catch-up
bot/digest.py  the daily digest (builds on deliver.py)
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.briefing.data import BriefingData, load_briefing
from bot.briefing.deliver import FAILURES, Outcome, SlackPoster, briefing_payload
from bot.briefing.schedule import Period, Schedule, latest_run, next_run, period_ending
from bot.briefing.trend import Trend, decide_trend
from bot.config import Settings
from bot.store.db import session_scope
from bot.subscriptions import audit

__all__ = [
    "BriefingData",
    "Outcome",
    "Period",
    "Schedule",
    "SlackPoster",
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
    *,
    engine: Engine,
    settings: Settings,
    situation: str,
    channel: str,
    user: str,
    now: datetime,
    client: WebClient,
) -> str | None:
    """`/tocsin brief <situation>`: post a briefing of the last 7 days into `channel` now.

    The caller has already checked that the channel may see the situation. Not claimed (a person
    asked for it; asking twice posts twice). Returns a status line for the person who asked.
    """
    cfg = settings.situation(situation)
    if cfg is None:
        return None
    poster = SlackPoster(client, engine=engine, unfurl_links=settings.slack.unfurl_links)
    period = Period(start=now - ON_DEMAND, end=now)
    try:
        messages, chart = briefing_payload(
            engine, settings=settings, situation=cfg, period=period, title=ON_DEMAND_TITLE
        )
        poster.post(channel=channel, messages=messages, chart=chart)
    except FAILURES as exc:
        log.error("event=briefing_on_demand_failed channel=%s error=%r", channel, exc)
        return "Slack refused the briefing; please try again later"
    with session_scope(engine) as session:
        audit(session, actor=user, action="brief", now=now, channel=channel, situation=situation)
    return "posted in this channel (last 7 days)"
