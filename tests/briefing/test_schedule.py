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
    run_period,
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


WEEK = timedelta(days=7)
WEEKLY_UTC = Schedule(weekday="mon", time="09:00", timezone="UTC")
RUN = utc(2024, 5, 13, 9)  # a Monday 09:00 UTC run; the scheduled period starts a week before


@pytest.mark.parametrize(
    ("reported_until", "expected"),
    [
        # the previous run went out as scheduled: the scheduled period
        (RUN - WEEK, (RUN - WEEK, RUN)),
        # nothing sent yet: the scheduled period
        (None, (RUN - WEEK, RUN)),
        # the bot was down for two runs or more: only the latest period, as before
        (RUN - 2 * WEEK, (RUN - WEEK, RUN)),
        (RUN - 3 * WEEK, (RUN - WEEK, RUN)),
        # this very run (or one ending here) was sent: nothing left
        (RUN, None),
        # moved Mon 10:00 → Mon 09:00 and the old 10:00 briefing already went out
        (RUN + timedelta(hours=1), None),
        # moved Mon 09:00 → Mon 10:00 (seen from the 10:00 run an hour after the 09:00 one)
        (RUN - timedelta(hours=1), None),
        # moved Monday → Wednesday on a Tuesday: reported 2 days ago, under half a week
        (RUN - timedelta(days=2), None),
        # moved Friday → Monday: reported 3 days ago (< 3.5) → skip; 4 days ago → from there
        (RUN - timedelta(days=3), None),
        (RUN - timedelta(days=4), (RUN - timedelta(days=4), RUN)),
        # moved Wednesday → Monday after a Wednesday briefing 12 days back: cover all of it
        (RUN - timedelta(days=12), (RUN - timedelta(days=12), RUN)),
    ],
)
def test_run_period_starts_where_the_previous_briefing_ended(
    reported_until: datetime | None, expected: tuple[datetime, datetime] | None
) -> None:
    period = run_period(WEEKLY_UTC, RUN, reported_until=reported_until)
    assert (None if period is None else (period.start, period.end)) == expected


def test_a_changed_time_never_briefs_the_same_week_twice() -> None:
    """Mon 09:00 went out; moved to Mon 10:00: the 10:00 run is skipped, the next one covers
    from 09:00 on, and from then on the periods tile again."""
    before = Schedule(weekday="mon", time="09:00", timezone="Europe/London")
    after = Schedule(weekday="mon", time="10:00", timezone="Europe/London")
    sent = period_ending(before, utc(2024, 5, 13, 8))  # 09:00 BST
    first = next_run(after, utc(2024, 5, 13, 8, 30))
    assert first == utc(2024, 5, 13, 9)
    assert run_period(after, first, reported_until=sent.end) is None
    second = next_run(after, first)
    period = run_period(after, second, reported_until=sent.end)
    assert period is not None and (period.start, period.end) == (sent.end, utc(2024, 5, 20, 9))
    third = next_run(after, second)
    assert run_period(after, third, reported_until=period.end) == period_ending(after, third)


@settings(max_examples=200)
@given(
    old_day=st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
    new_day=st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
    old_time=st.sampled_from(["00:30", "09:00", "17:45", "23:59"]),
    new_time=st.sampled_from(["00:30", "09:00", "17:45", "23:59"]),
    zone=st.sampled_from(["UTC", "Europe/London", "Asia/Kathmandu", "Pacific/Apia"]),
    changed_after=st.integers(min_value=0, max_value=7 * 24 * 60 - 1),  # before the next old run
)
def test_after_any_change_periods_never_overlap_and_leave_no_gap(
    old_day: str, new_day: str, old_time: str, new_time: str, zone: str, changed_after: int
) -> None:
    old = Schedule(weekday=old_day, time=old_time, timezone=zone)
    new = Schedule(weekday=new_day, time=new_time, timezone=zone)
    last = latest_run(old, utc(2024, 3, 4, 12))
    changed = last + timedelta(minutes=changed_after)
    reported, at, sent = last, changed, 0
    for _ in range(5):  # the next five runs of the new schedule
        at = next_run(new, at)
        period = run_period(new, at, reported_until=reported)
        if period is None:
            continue
        assert period.start == reported  # no gap, no overlap with the previous briefing
        assert period.end - period.start >= timedelta(days=3, hours=11)  # never a stub
        reported, sent = period.end, sent + 1
    assert sent >= 4  # at most one run is skipped
