"""APScheduler jobs with explicit ids, rebuilt from Settings at start-up.

    poll                polls the feeds whose `next_poll_at` has come (each feed keeps its own
                        interval and backoff in the database, so several instances share the
                        work), then wakes the delivery loop
    rollups             turns the flood guard's held alerts into their hour's roll-up
    reviews             sends critical alerts whose review timed out, marked "not yet
                        reviewed" (`bot.review.settle_reviews`)
    brief:… / digest:…  queue weekly briefings and daily digests (`bot.briefing.jobs`);
                        `briefings:sync` refreshes them, `briefings:catch-up` runs once at start

Messages are not sent from here: everything goes into the outbox, which the delivery loop
(`bot.outbox.loop`, a thread of its own) drains at Slack's pace. The heartbeat that renews this
instance's leases has a thread of its own too (`bot.leases.Heartbeat.running`), so a busy
scheduler never lets a lease lapse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot.outbox.rollup import make_rollups
from bot.review import settle_reviews
from bot.runtime import Runtime, utc_now

log = logging.getLogger(__name__)
ROLLUP_EVERY_SECONDS = 30
REVIEWS_EVERY_SECONDS = 30


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """A job that logs its own failure instead of killing the scheduler thread silently."""

    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("event=job_failed job=%s", name)

    return run


def build_scheduler(
    runtime: Runtime, *, wake: Callable[[], None] = lambda: None
) -> BackgroundScheduler:
    """The jobs; `wake` is called after each poll (to start delivering what it queued)."""
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
    )

    def poll() -> None:
        runtime.poller.poll()
        wake()

    def rollups() -> None:
        if make_rollups(runtime.engine, now=runtime.poller.clock(), metrics=runtime.metrics):
            wake()

    scheduler.add_job(
        _guarded("poll", poll),
        "interval",
        seconds=runtime.settings.polling.tick.total_seconds(),
        id="poll",
        replace_existing=True,
        next_run_time=None,
    )
    scheduler.add_job(
        _guarded("rollups", rollups),
        "interval",
        seconds=ROLLUP_EVERY_SECONDS,
        id="rollups",
        replace_existing=True,
    )

    def reviews() -> None:
        now = runtime.poller.clock()
        if settle_reviews(runtime.engine, settings=runtime.settings, now=now):
            wake()

    scheduler.add_job(
        _guarded("reviews", reviews),
        "interval",
        seconds=REVIEWS_EVERY_SECONDS,
        id="reviews",
        replace_existing=True,
    )
    _add_briefings(scheduler, runtime)
    return scheduler


def _add_briefings(scheduler: BackgroundScheduler, runtime: Runtime) -> None:
    """Weekly briefings and daily digests: queued here, delivered by the outbox to any sink."""
    from bot.briefing import jobs

    jobs.install(scheduler, engine=runtime.engine, settings=runtime.settings, clock=utc_now)
