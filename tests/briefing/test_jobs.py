"""Jobs per subscription with explicit ids; catch-up after downtime sends once, then never again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.briefing.deliver import SlackPoster
from bot.briefing.jobs import catch_up, install, load_plan, plan_jobs, sync_jobs
from bot.briefing.schedule import ScheduleTrigger
from bot.store.db import session_scope
from bot.store.tables import Briefing, ChannelState, Subscription
from tests.briefing import builders
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


def briefings(engine: Engine) -> list[Briefing]:
    with session_scope(engine) as session:
        return list(session.exec(select(Briefing)).all())


def test_catch_up_sends_a_missed_briefing_once(
    engine: Engine, slack: MockSlack, poster: SlackPoster
) -> None:
    builders.week_of_reports(engine)
    builders.subscription(engine, channel="C1")
    builders.subscription(engine, channel="C2", created=WEDNESDAY - timedelta(hours=1))
    plan = load_plan(engine, SETTINGS)
    first = catch_up(plan, engine=engine, settings=SETTINGS, poster=poster, now=WEDNESDAY)
    assert {k: o.status for k, o in first.items()} == {
        "brief:C1:sudan": "sent",
        "brief:C2:sudan": "not_due",  # subscribed after Monday's run: no instant catch-up
    }
    (row,) = briefings(engine)
    # Monday 09:00 in London is 08:00 UTC (BST); the period is the week before it
    assert row.period_end == datetime(2024, 5, 6, 8, tzinfo=UTC)
    assert row.period_start == datetime(2024, 4, 29, 8, tzinfo=UTC)
    second = catch_up(plan, engine=engine, settings=SETTINGS, poster=poster, now=WEDNESDAY)
    assert second["brief:C1:sudan"].status == "taken"  # a second start sends nothing
    assert len(slack.calls("chat.postMessage")) == 1


def test_channel_time_zone_from_the_database(engine: Engine) -> None:
    builders.subscription(engine, channel="C1")
    with session_scope(engine) as session:
        session.add(ChannelState(channel="C1", timezone="America/New_York"))
    (job,) = load_plan(engine, SETTINGS)
    assert job.schedule.timezone == "America/New_York"


def test_install_adds_jobs_and_the_start_up_catch_up(
    engine: Engine, poster: SlackPoster, slack: MockSlack
) -> None:
    builders.subscription(engine, channel="C1", digest=True)
    scheduler = BackgroundScheduler(timezone="UTC")
    install(scheduler, engine=engine, settings=SETTINGS, poster=poster, clock=lambda: WEDNESDAY)
    ids = sorted(j.id for j in scheduler.get_jobs())
    assert ids == ["brief:C1:sudan", "briefings:catch-up", "briefings:sync", "digest:C1:sudan"]
    scheduler.get_job("briefings:catch-up").func()
    assert {b.kind for b in briefings(engine)} == {"weekly", "digest"}
