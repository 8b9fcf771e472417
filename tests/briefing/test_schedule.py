"""When briefings run: pure functions across time zones and DST changes, and the trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.briefing.schedule import (
    Schedule,
    ScheduleTrigger,
    latest_run,
    next_run,
    period_ending,
    resolve_timezone,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_9 = {"weekday": "mon", "time": "09:00"}


@pytest.mark.parametrize(
    ("timezone", "now", "expected_latest", "expected_next"),
    [
        # Nairobi, UTC+3 all year
        ("Africa/Nairobi", utc(2024, 5, 8, 12), utc(2024, 5, 6, 6), utc(2024, 5, 13, 6)),
        # exactly at the run: it is the latest, the next is a week on
        ("UTC", utc(2024, 5, 6, 9), utc(2024, 5, 6, 9), utc(2024, 5, 13, 9)),
        # London: Monday 1 April 2024 is the first Monday of summer time (BST, UTC+1)
        ("Europe/London", utc(2024, 3, 27, 12), utc(2024, 3, 25, 9), utc(2024, 4, 1, 8)),
        # London back to GMT on 27 October 2024
        ("Europe/London", utc(2024, 10, 23, 12), utc(2024, 10, 21, 8), utc(2024, 10, 28, 9)),
        # New York: summer time from 10 March 2024, winter time from 3 November 2024
        ("America/New_York", utc(2024, 3, 6, 12), utc(2024, 3, 4, 14), utc(2024, 3, 11, 13)),
        ("America/New_York", utc(2024, 10, 30, 12), utc(2024, 10, 28, 13), utc(2024, 11, 4, 14)),
        # Kathmandu, UTC+05:45: Monday 09:00 is 03:15 UTC
        ("Asia/Kathmandu", utc(2024, 5, 6, 3, 14), utc(2024, 4, 29, 3, 15), utc(2024, 5, 6, 3, 15)),
        # Apia, UTC+13: Monday 09:00 local is Sunday 20:00 UTC
        ("Pacific/Apia", utc(2024, 5, 6, 12), utc(2024, 5, 5, 20), utc(2024, 5, 12, 20)),
    ],
)
def test_weekly_runs_in_the_channel_time_zone(
    timezone: str, now: datetime, expected_latest: datetime, expected_next: datetime
) -> None:
    schedule = Schedule(timezone=timezone, **MONDAY_9)
    assert latest_run(schedule, now) == expected_latest
    assert next_run(schedule, now) == expected_next


def test_a_time_in_the_spring_forward_gap_runs_shifted_forward() -> None:
    # New York, 10 March 2024: 02:00 → 03:00; 02:30 does not exist and runs at 03:30 EDT
    daily = Schedule(time="02:30", timezone="America/New_York")
    assert next_run(daily, utc(2024, 3, 9, 12)) == utc(2024, 3, 10, 7, 30)
    assert next_run(daily, utc(2024, 3, 10, 7, 30)) == utc(2024, 3, 11, 6, 30)


def test_a_repeated_time_in_autumn_runs_once_at_its_first_occurrence() -> None:
    # London, 27 October 2024: 01:30 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT)
    daily = Schedule(time="01:30", timezone="Europe/London")
    first = next_run(daily, utc(2024, 10, 26, 12))
    assert first == utc(2024, 10, 27, 0, 30)
    assert next_run(daily, first) == utc(2024, 10, 28, 1, 30)


def test_samoa_skipped_friday_30_december_2011() -> None:
    # Apia jumped from Thursday 29 December (UTC−10) to Saturday 31 December (UTC+14)
    friday = Schedule(weekday="fri", time="09:00", timezone="Pacific/Apia")
    run = next_run(friday, utc(2011, 12, 28))
    assert run == utc(2011, 12, 30, 19)  # the lost Friday's 09:00, i.e. Saturday 09:00 local
    daily = Schedule(time="09:00", timezone="Pacific/Apia")
    runs = [next_run(daily, utc(2011, 12, 28, 12))]
    for _ in range(3):
        runs.append(next_run(daily, runs[-1]))
    assert runs == [
        utc(2011, 12, 28, 19),
        utc(2011, 12, 29, 19),
        utc(2011, 12, 30, 19),
        utc(2011, 12, 31, 19),
    ]


def test_periods_tile_across_dst_with_no_gap_or_overlap() -> None:
    schedule = Schedule(weekday="sun", time="09:00", timezone="Europe/London")
    spring = period_ending(schedule, utc(2024, 3, 31, 8))  # first Sunday of BST
    assert spring.start == utc(2024, 3, 24, 9)
    assert spring.end - spring.start == timedelta(days=7) - timedelta(hours=1)
    after = period_ending(schedule, next_run(schedule, spring.end))
    assert after.start == spring.end


def test_time_zone_falls_back_from_subscription_to_channel_to_default() -> None:
    assert resolve_timezone("Africa/Nairobi", "Europe/Paris", "UTC") == "Africa/Nairobi"
    assert resolve_timezone(None, "Europe/Paris", "UTC") == "Europe/Paris"
    assert resolve_timezone(None, "Mars/Olympus", "Asia/Kathmandu") == "Asia/Kathmandu"
    assert resolve_timezone(None, None, None) == "UTC"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_run(Schedule(time="09:00", timezone="UTC"), datetime(2024, 5, 6, 9))


def test_schedules_validate_their_parts() -> None:
    with pytest.raises(ValueError):
        Schedule(weekday="monday", time="09:00", timezone="UTC")


ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Australia/Lord_Howe",
    "America/Santiago",
]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    weekday=st.sampled_from(["mon", "fri", "sun", None]),
    hhmm=st.sampled_from(["00:00", "01:30", "02:30", "09:00", "23:59"]),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
    ),
)
def test_latest_and_next_bracket_now_with_no_run_between(
    zone: str, weekday: str | None, hhmm: str, now: datetime
) -> None:
    schedule = Schedule(weekday=weekday, time=hhmm, timezone=zone)
    latest, upcoming = latest_run(schedule, now), next_run(schedule, now)
    assert latest <= now < upcoming
    assert next_run(schedule, latest) == upcoming
    assert upcoming - latest <= timedelta(days=7 if weekday else 1, hours=2)


def test_apscheduler_fires_on_the_same_instants() -> None:
    schedule = Schedule(timezone="America/New_York", **MONDAY_9)
    trigger = ScheduleTrigger(schedule)
    now = utc(2024, 3, 6, 12)
    first = trigger.get_next_fire_time(None, now)
    assert first == next_run(schedule, now) == utc(2024, 3, 11, 13)
    assert trigger.get_next_fire_time(first, first) == utc(2024, 3, 18, 13)
    scheduler = BackgroundScheduler(timezone="UTC")
    job = scheduler.add_job(print, trigger=trigger, id="brief:C1:sudan")
    assert job.trigger == ScheduleTrigger(schedule)
    assert "every Mon at 09:00 America/New_York" in str(job.trigger)
