"""Briefing and digest jobs: planned from config + database, run by APScheduler, caught up once.

    plan_jobs   pure: subscriptions (+ channel time zones) → PlannedJob, with explicit ids
                `brief:{channel}:{situation}` (weekly) and `digest:{channel}:{situation}` (daily);
                the weekly job runs on the subscription's own weekday and time if it has them
                (`weekly_schedule`), else on `[briefings]`'s
    sync_jobs   makes the scheduler's briefing jobs equal to a plan (adds, replaces, removes)
    run_job     queues the run at or before `now` (`latest_run`) in the outbox unless someone
                has already; the job the scheduler fires and the start-up catch-up are the same
                call, and the outbox row's dedupe key makes it idempotent. The period starts
                where the previous briefing ended (`run_period`), so changing a schedule never
                briefs a week twice. The deliverer sends it like any other message
    catch_up    run_job for every planned job once (at start-up): a run missed while the bot was
                down is queued once; a second start finds the rows and queues nothing

A run earlier than the subscription itself is never sent (a new subscription or the very first
start does not produce an immediate "catch-up" briefing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.briefing.deliver import enqueue_briefing
from bot.briefing.schedule import (
    Schedule,
    ScheduleTrigger,
    latest_run,
    resolve_timezone,
    run_period,
)
from bot.config import BriefingSettings, Settings
from bot.digest import enqueue_digest
from bot.store.db import session_scope
from bot.store.tables import ChannelState, MessageKind, MessageState, OutboxMessage, Subscription

log = logging.getLogger(__name__)
PREFIXES = ("brief:", "digest:")


@dataclass(frozen=True, kw_only=True)
class PlannedJob:
    id: str
    kind: str  # weekly | digest
    channel: str
    situation: str
    schedule: Schedule
    since: datetime
    subscription_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """queued (now in the outbox) | taken (someone queued this period) | not_due | failed."""

    status: str
    message_id: int | None = None
    detail: str = ""


def plan_jobs(
    settings: Settings,
    subscriptions: Sequence[Subscription],
    channel_timezones: Mapping[str, str | None],
) -> list[PlannedJob]:
    """Pure: the jobs the subscriptions ask for (unknown situations are skipped)."""
    cfg = settings.briefings
    jobs: list[PlannedJob] = []
    for sub in sorted(subscriptions, key=lambda s: (s.channel, s.situation)):
        if not sub.active or settings.situation(sub.situation) is None:
            continue
        channel_tz = channel_timezones.get(sub.channel)
        if sub.briefings:
            weekly = weekly_schedule(sub, channel_timezone=channel_tz, defaults=cfg)
            jobs.append(_job(sub, kind="weekly", prefix="brief", schedule=weekly))
        if sub.digest:
            daily = digest_schedule(sub, channel_timezone=channel_tz, defaults=cfg)
            jobs.append(_job(sub, kind="digest", prefix="digest", schedule=daily))
    return jobs


def weekly_schedule(
    sub: Subscription, *, channel_timezone: str | None, defaults: BriefingSettings
) -> Schedule:
    """Pure: the subscription's weekday and time (else `[briefings]`'s) in its time zone."""
    return Schedule(
        weekday=sub.briefing_weekday or defaults.weekday,
        time=sub.briefing_time or defaults.time,
        timezone=resolve_timezone(sub.timezone, channel_timezone, defaults.timezone),
    )


def digest_schedule(
    sub: Subscription, *, channel_timezone: str | None, defaults: BriefingSettings
) -> Schedule:
    """Pure: every day at `[briefings] digest_time` in the subscription's time zone."""
    return Schedule(
        time=defaults.digest_time,
        timezone=resolve_timezone(sub.timezone, channel_timezone, defaults.timezone),
    )


def _job(sub: Subscription, *, kind: str, prefix: str, schedule: Schedule) -> PlannedJob:
    return PlannedJob(
        id=f"{prefix}:{sub.channel}:{sub.situation}",
        kind=kind,
        channel=sub.channel,
        situation=sub.situation,
        schedule=schedule,
        since=sub.created_at,
        subscription_id=sub.id,
    )


def load_plan(engine: Engine, settings: Settings) -> list[PlannedJob]:
    with session_scope(engine) as session:
        subs = list(session.exec(select(Subscription).where(col(Subscription.active))).all())
        zones = {c.channel: c.timezone for c in session.exec(select(ChannelState)).all()}
    return plan_jobs(settings, subs, zones)


def run_job(job: PlannedJob, *, engine: Engine, settings: Settings, now: datetime) -> Outcome:
    """Queue the job's most recent run (at or before `now`) unless it was queued already."""
    run_at = latest_run(job.schedule, now)
    situation = settings.situation(job.situation)
    if run_at < job.since or situation is None:
        return Outcome(status="not_due")
    reported = reported_until(engine, channel=job.channel, situation=job.situation, kind=job.kind)
    period = run_period(job.schedule, run_at, reported_until=reported)
    if period is None:
        taken = reported is not None and reported >= run_at
        return Outcome(
            status="taken" if taken else "not_due",
            detail="" if taken else "the previous briefing went out less than half a period ago",
        )
    with session_scope(engine) as session:
        enqueue_job = enqueue_digest if job.kind == "digest" else enqueue_briefing
        queued = enqueue_job(
            session,
            channel=job.channel,
            situation=situation,
            period=period,
            now=now,
            subscription_id=job.subscription_id,
        )
    fresh = queued.created or queued.requeued
    log.info("event=briefing_queued job=%s message=%s fresh=%s", job.id, queued.id, fresh)
    return Outcome(status="queued" if fresh else "taken", message_id=queued.id)


JOB_KINDS = {"weekly": MessageKind.BRIEFING, "digest": MessageKind.DIGEST}


def reported_until(engine: Engine, *, channel: str, situation: str, kind: str) -> datetime | None:
    """Where the latest briefing of this kind ended (a failed one reported nothing)."""
    with session_scope(engine) as session:
        return session.exec(
            select(OutboxMessage.period_end)
            .where(OutboxMessage.channel == channel)
            .where(OutboxMessage.situation == situation)
            .where(OutboxMessage.kind == JOB_KINDS[kind])
            .where(col(OutboxMessage.state) != MessageState.FAILED)
            .order_by(col(OutboxMessage.period_end).desc())
            .limit(1)
        ).first()


def catch_up(
    plan: Sequence[PlannedJob], *, engine: Engine, settings: Settings, now: datetime
) -> dict[str, Outcome]:
    """Run every planned job once; returns each job's outcome by id."""
    outcomes = {}
    for job in plan:
        try:
            outcomes[job.id] = run_job(job, engine=engine, settings=settings, now=now)
        except Exception:  # one broken briefing never stops the others
            log.exception("event=briefing_job_failed job=%s", job.id)
            outcomes[job.id] = Outcome(status="failed", detail="unexpected error")
    queued = sum(1 for o in outcomes.values() if o.status == "queued")
    log.info("event=briefing_catch_up jobs=%d queued=%d", len(plan), queued)
    return outcomes


def sync_jobs(
    scheduler: BaseScheduler,
    plan: Sequence[PlannedJob],
    *,
    make_job: Callable[[PlannedJob], Callable[[], object]],
) -> None:
    """Make the scheduler's `brief:`/`digest:` jobs match `plan` (ids are stable)."""
    wanted = {job.id: job for job in plan}
    for existing in scheduler.get_jobs():
        if existing.id.startswith(PREFIXES) and existing.id not in wanted:
            scheduler.remove_job(existing.id)
    for job in plan:
        trigger = ScheduleTrigger(job.schedule)
        current = scheduler.get_job(job.id)
        if current is not None and current.trigger == trigger:
            continue
        scheduler.add_job(
            make_job(job),
            trigger=trigger,
            id=job.id,
            name=f"{job.kind} {job.situation} → {job.channel} ({job.schedule.describe()})",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # late is better than never; the claim prevents doubles
        )


SYNC_EVERY_SECONDS = 300


def install(
    scheduler: BaseScheduler,
    *,
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime],
) -> None:
    """Add the briefing jobs now, re-sync them every 5 minutes (subscriptions made in Slack), and
    catch up once as soon as the scheduler starts."""

    def make_job(job: PlannedJob) -> Callable[[], object]:
        def fire() -> object:
            try:
                return run_job(job, engine=engine, settings=settings, now=clock())
            except Exception:
                log.exception("event=briefing_job_failed job=%s", job.id)
                return None

        return fire

    def sync() -> None:
        try:
            sync_jobs(scheduler, load_plan(engine, settings), make_job=make_job)
        except Exception:
            log.exception("event=briefing_sync_failed")

    def start_up() -> None:
        catch_up(load_plan(engine, settings), engine=engine, settings=settings, now=clock())

    sync()
    scheduler.add_job(
        sync,
        "interval",
        seconds=SYNC_EVERY_SECONDS,
        id="briefings:sync",
        replace_existing=True,
    )
    scheduler.add_job(
        start_up, "date", id="briefings:catch-up", replace_existing=True, misfire_grace_time=None
    )
