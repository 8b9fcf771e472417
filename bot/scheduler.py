"""APScheduler jobs with explicit ids, rebuilt from Settings at start-up.

`poll` ticks often and polls only the feeds whose `next_poll_at` has come (each feed keeps its own
interval and backoff in the database, so several instances share the work); `deliver` drains the
outbox. With Slack, `brief:{channel}:{situation}` and `digest:{channel}:{situation}` jobs send
briefings and digests, `briefings:sync` refreshes them, `briefings:catch-up` runs once at start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.runtime import Runtime, utc_now

log = logging.getLogger(__name__)

DELIVER_TICK = timedelta(seconds=1)  # Slack allows about one message per second per channel


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """A job that logs its own failure instead of killing the scheduler thread silently."""

    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("event=job_failed job=%s", name)

    return run


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
    )
    scheduler.add_job(
        _guarded("poll", runtime.poller.poll),
        "interval",
        seconds=runtime.settings.polling.tick.total_seconds(),
        id="poll",
        replace_existing=True,
        next_run_time=None,
    )
    scheduler.add_job(
        _guarded("deliver", runtime.deliverer.drain),
        "interval",
        seconds=DELIVER_TICK.total_seconds(),
        id="deliver",
        replace_existing=True,
    )
    _add_briefings(scheduler, runtime)
    return scheduler


def _add_briefings(scheduler: BackgroundScheduler, runtime: Runtime) -> None:
    """Weekly briefings and daily digests (`bot.briefing.jobs`); they need the Slack sink."""
    from bot.briefing import jobs
    from bot.briefing.deliver import SlackPoster

    client = getattr(runtime.sink, "client", None)
    if client is None:
        log.info("event=briefings_disabled reason='no Slack sink (SLACK_BOT_TOKEN not set)'")
        return
    poster = SlackPoster(
        client, engine=runtime.engine, unfurl_links=runtime.settings.slack.unfurl_links
    )
    jobs.install(
        scheduler, engine=runtime.engine, settings=runtime.settings, poster=poster, clock=utc_now
    )
