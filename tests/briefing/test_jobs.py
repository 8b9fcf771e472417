"""Jobs per subscription with explicit ids; catch-up after downtime queues once, then never again;
the deliverer sends what they queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.briefing.jobs import (
    PlannedJob,
    catch_up,
    install,
    load_plan,
    plan_jobs,
    run_job,
    sync_jobs,
)
from bot.briefing.schedule import ScheduleTrigger, next_run
from bot.outbox.deliverer import Deliverer
from bot.store.db import session_scope
from bot.store.tables import ChannelState, MessageKind, OutboxMessage, Subscription
from bot.subscriptions import sync_config_subscriptions
from tests.briefing import builders
from tests.slack.helpers import FakeClock
from tests.slack.mock_slack import MockSlack

SETTINGS = builders.settings(briefings={"timezone": "Europe/London"})
WEDNESDAY = builders.MONDAY + timedelta(days=2)  # the bot was down on Monday morning


def sub(channel: str, situation: str = "sudan", **values: object) -> Subscription:
    values.setdefault("created_at", builders.MONDAY - timedelta(days=30))
    return Subscription(channel=channel, situation=situation, **values)  # type: ignore[arg-type]


def test_plan_has_explicit_ids_and_channel_time_zones() -> None:
    subs = [
        sub("C1", timezone="Africa/Nairobi"),
        sub("C2", digest=True),
        sub("C3", briefings=False),
        sub("C4", active=False),
        sub("C5", situation="unknown"),
    ]
    plan = plan_jobs(SETTINGS, subs, {"C2": "Asia/Kathmandu", "C1": "Europe/Paris"})
    assert [(j.id, j.schedule.timezone) for j in plan] == [
        ("brief:C1:sudan", "Africa/Nairobi"),
        ("brief:C2:sudan", "Asia/Kathmandu"),
        ("digest:C2:sudan", "Asia/Kathmandu"),
    ]
    assert plan[0].schedule.weekday == "mon" and plan[0].schedule.time == "09:00"
    assert plan[2].schedule.weekday is None and plan[2].schedule.time == "08:00"


def test_sync_adds_replaces_and_removes_jobs() -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(print, "interval", seconds=5, id="poll")
    scheduler.add_job(print, "interval", seconds=5, id="brief:COLD:sudan")
    plan = plan_jobs(SETTINGS, [sub("C1"), sub("C2", digest=True)], {})
    sync_jobs(scheduler, plan, make_job=lambda job: print)
    assert sorted(j.id for j in scheduler.get_jobs()) == [
        "brief:C1:sudan",
        "brief:C2:sudan",
        "digest:C2:sudan",
        "poll",
    ]
    job = scheduler.get_job("brief:C1:sudan")
    assert isinstance(job.trigger, ScheduleTrigger)
    assert job.trigger.schedule.timezone == "Europe/London"


def briefings(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.kind.in_([MessageKind.BRIEFING, MessageKind.DIGEST])  # type: ignore[attr-defined]
                )
            ).all()
        )


def test_catch_up_sends_a_missed_briefing_once(
    engine: Engine, slack: MockSlack, deliverer: Deliverer, clock: FakeClock
) -> None:
    clock.now = WEDNESDAY
    builders.week_of_reports(engine)
    builders.subscription(engine, channel="C1")
    builders.subscription(engine, channel="C2", created=WEDNESDAY - timedelta(hours=1))
    plan = load_plan(engine, SETTINGS)
    first = catch_up(plan, engine=engine, settings=SETTINGS, now=WEDNESDAY)
    assert {k: o.status for k, o in first.items()} == {
        "brief:C1:sudan": "queued",
        "brief:C2:sudan": "not_due",  # subscribed after Monday's run: no instant catch-up
    }
    (row,) = briefings(engine)
    # Monday 09:00 in London is 08:00 UTC (BST); the period is the week before it
    assert row.period_end == datetime(2024, 5, 6, 8, tzinfo=UTC)
    assert row.period_start == datetime(2024, 4, 29, 8, tzinfo=UTC)
    deliverer.drain()
    second = catch_up(plan, engine=engine, settings=SETTINGS, now=WEDNESDAY)
    assert second["brief:C1:sudan"].status == "taken"  # a second start queues nothing
    deliverer.drain()
    assert len(slack.calls("chat.postMessage")) == 1


def test_channel_time_zone_from_the_database(engine: Engine) -> None:
    builders.subscription(engine, channel="C1")
    with session_scope(engine) as session:
        session.add(ChannelState(channel="C1", timezone="America/New_York"))
    (job,) = load_plan(engine, SETTINGS)
    assert job.schedule.timezone == "America/New_York"


def test_install_adds_jobs_and_the_start_up_catch_up(engine: Engine) -> None:
    builders.subscription(engine, channel="C1", digest=True)
    scheduler = BackgroundScheduler(timezone="UTC")
    install(scheduler, engine=engine, settings=SETTINGS, clock=lambda: WEDNESDAY)
    ids = sorted(j.id for j in scheduler.get_jobs())
    assert ids == ["brief:C1:sudan", "briefings:catch-up", "briefings:sync", "digest:C1:sudan"]
    scheduler.get_job("briefings:catch-up").func()
    assert {b.kind for b in briefings(engine)} == {"briefing", "digest"}


def test_plan_uses_each_subscriptions_own_weekday_time_and_zone() -> None:
    """Next runs computed with an explicit `now` (Wednesday 8 May 2024, 12:00 UTC)."""
    now = datetime(2024, 5, 8, 12, tzinfo=UTC)
    subs = [
        sub("C1", briefing_weekday="fri", briefing_time="14:30"),  # channel zone: Nairobi
        sub("C2", briefing_time="07:15", timezone="Asia/Kathmandu"),  # default weekday (mon)
        sub("C3", briefing_weekday="wed", digest=True),  # default time, default zone (London)
        sub("C4"),  # all defaults
    ]
    plan = plan_jobs(SETTINGS, subs, {"C1": "Africa/Nairobi"})
    by_id = {job.id: job for job in plan}
    expected = {
        # Friday 10 May 14:30 EAT (UTC+3)
        "brief:C1:sudan": ("fri", "14:30", "Africa/Nairobi", datetime(2024, 5, 10, 11, 30)),
        # Monday 13 May 07:15 NPT (UTC+05:45)
        "brief:C2:sudan": ("mon", "07:15", "Asia/Kathmandu", datetime(2024, 5, 13, 1, 30)),
        # Wednesday 15 May 09:00 BST: today's 09:00 BST (08:00 UTC) is already past
        "brief:C3:sudan": ("wed", "09:00", "Europe/London", datetime(2024, 5, 15, 8)),
        "brief:C4:sudan": ("mon", "09:00", "Europe/London", datetime(2024, 5, 13, 8)),
    }
    for job_id, (weekday, time, zone, first) in expected.items():
        schedule = by_id[job_id].schedule
        assert (schedule.weekday, schedule.time, schedule.timezone) == (weekday, time, zone)
        assert next_run(schedule, now) == first.replace(tzinfo=UTC)
        assert ScheduleTrigger(schedule).get_next_fire_time(None, now) == first.replace(tzinfo=UTC)
    # the digest keeps the global digest time; the weekday does not apply to it
    digest = by_id["digest:C3:sudan"].schedule
    assert (digest.weekday, digest.time, digest.timezone) == (None, "08:00", "Europe/London")


def test_config_briefing_day_and_time_reach_the_plan(engine: Engine) -> None:
    settings = builders.settings(
        briefings={"timezone": "Europe/London"},
        subscriptions=[
            {
                "channel": "CNEWYORK",
                "situations": ["sudan"],
                "briefing_weekday": "thu",
                "briefing_time": "16:00",
                "timezone": "America/New_York",
            }
        ],
    )
    with session_scope(engine) as session:
        sync_config_subscriptions(session, settings, now=builders.MONDAY)
    (job,) = load_plan(engine, settings)
    assert (job.schedule.weekday, job.schedule.time, job.schedule.timezone) == (
        "thu",
        "16:00",
        "America/New_York",
    )
    # Thursday 9 May 2024 16:00 EDT = 20:00 UTC
    assert next_run(job.schedule, builders.MONDAY) == datetime(2024, 5, 9, 20, tzinfo=UTC)


def test_a_changed_schedule_is_resynced_without_a_double_briefing(
    engine: Engine,
    slack: MockSlack,
    deliverer: Deliverer,
    clock: FakeClock,
    request: pytest.FixtureRequest,
) -> None:
    """Monday's 09:00 briefing went out; at 09:30 the channel moves it to 10:00. The job is
    replaced at the next sync; its 10:00 run (and a restart's catch-up) sends nothing; a week
    later one briefing covers everything since Monday 09:00."""
    builders.week_of_reports(engine)
    sub_id = builders.subscription(engine, channel="C1")
    settings = builders.settings()  # UTC
    monday_9 = builders.MONDAY
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)  # jobs live in the job store, as in `tocsin run`
    request.addfinalizer(scheduler.shutdown)

    def make_job(job: PlannedJob) -> Callable[[], object]:
        return lambda: run_job(job, engine=engine, settings=settings, now=clock())

    clock.now = monday_9
    sync_jobs(scheduler, load_plan(engine, settings), make_job=make_job)
    assert scheduler.get_job("brief:C1:sudan").func().status == "queued"
    deliverer.drain()
    with session_scope(engine) as session:
        row = session.get(Subscription, sub_id)
        assert row is not None
        row.briefing_time = "10:00"
        session.add(row)
    sync_jobs(scheduler, load_plan(engine, settings), make_job=make_job)
    job = scheduler.get_job("brief:C1:sudan")
    assert job.trigger.schedule.time == "10:00"
    clock.now = monday_9 + timedelta(hours=1)
    assert job.func().status == "not_due"
    restart = catch_up(load_plan(engine, settings), engine=engine, settings=settings, now=clock())
    assert restart["brief:C1:sudan"].status == "not_due"
    deliverer.drain()
    assert len(slack.calls("chat.postMessage")) == 1
    clock.now = monday_9 + timedelta(days=7, hours=1)
    assert scheduler.get_job("brief:C1:sudan").func().status == "queued"
    deliverer.drain()
    assert len(slack.calls("chat.postMessage")) == 2
    periods = sorted((b.period_start, b.period_end) for b in briefings(engine))
    assert periods == [
        (monday_9 - timedelta(days=7), monday_9),
        (monday_9, monday_9 + timedelta(days=7, hours=1)),  # from where the last one ended
    ]
