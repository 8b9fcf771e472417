"""When briefings and digests are due: pure functions over (weekday, time, time zone, now).

A `Schedule` is a local wall-clock time in an IANA time zone, on one weekday (weekly briefings) or
every day (digests). Runs are computed on local calendar dates and converted to UTC:

- a wall time that does not exist that day (the spring-forward gap, or Samoa's skipped
  30 December 2011) runs at the same offset as just before the change, i.e. shifted forward
  (02:30 in a 02:00→03:00 gap runs at 03:30 local);
- a wall time that happens twice (autumn fall-back) runs at its first occurrence (`fold=0`).

`ScheduleTrigger` lets APScheduler 3 fire on exactly these instants. APScheduler's CronTrigger
has had DST bugs (skipped or shifted days: agronholm/apscheduler#606, #529), and the start-up
catch-up must agree with the scheduler to the microsecond, so both use the functions below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEARCH_DAYS = 9  # a weekly run is always found within 7 local days; 2 spare for odd zones
_EPSILON = timedelta(microseconds=1)


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """At local `time` ("HH:MM") in `timezone`, on `weekday` ("mon"…), or daily when None."""

    time: str
    timezone: str
    weekday: str | None = None

    def __post_init__(self) -> None:
        if self.weekday is not None and self.weekday not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {WEEKDAYS}, not {self.weekday!r}")
        _clock(self.time)
        ZoneInfo(self.timezone)

    def describe(self) -> str:
        day = "daily" if self.weekday is None else f"every {self.weekday.capitalize()}"
        return f"{day} at {self.time} {self.timezone}"


@dataclass(frozen=True, kw_only=True)
class Period:
    """A half-open interval [start, end) in UTC."""

    start: datetime
    end: datetime


def _clock(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("pass a timezone-aware datetime (the clock is UTC)")


def _run_on(schedule: Schedule, day: date) -> datetime | None:
    """The UTC instant of the run on local date `day`, or None if no run that day."""
    if schedule.weekday is not None and WEEKDAYS[day.weekday()] != schedule.weekday:
        return None
    local = datetime.combine(day, _clock(schedule.time), tzinfo=ZoneInfo(schedule.timezone))
    return local.astimezone(UTC)  # fold=0: gaps shift forward, repeats take the first


def latest_run(schedule: Schedule, now: datetime) -> datetime:
    """The most recent run at or before `now` (UTC)."""
    _require_aware(now)
    today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    for back in range(-1, _SEARCH_DAYS):
        at = _run_on(schedule, today - timedelta(days=back))
        if at is not None and at <= now:
            return at
    raise AssertionError(f"no run of {schedule} found before {now}")  # pragma: no cover


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """The first run strictly after `after` (UTC)."""
    _require_aware(after)
    today = after.astimezone(ZoneInfo(schedule.timezone)).date()
    for forward in range(-1, _SEARCH_DAYS):
        at = _run_on(schedule, today + timedelta(days=forward))
        if at is not None and at > after:
            return at
    raise AssertionError(f"no run of {schedule} found after {after}")  # pragma: no cover


def period_ending(schedule: Schedule, run_at: datetime) -> Period:
    """The period a run reports on: from the previous run up to this one, so periods tile.

    Across a DST change a weekly period is 7 days ± 1 hour of UTC time, never a gap or overlap.
    """
    return Period(start=latest_run(schedule, run_at - _EPSILON), end=run_at)


def run_period(
    schedule: Schedule, run_at: datetime, *, reported_until: datetime | None
) -> Period | None:
    """The period the run at `run_at` reports on, given where the previous briefing (of the same
    channel, situation and kind) ended; None when this run must not be sent.

    Normally the previous briefing ended at the previous scheduled run and this is
    `period_ending`. When the schedule changed since (another weekday, time or time zone):

    - the previous briefing already reaches this run → None (nothing left to report);
    - it ended less than half a period before this run (e.g. Monday 09:00 moved to Monday
      10:00, or Monday to Wednesday on a Tuesday) → None: no second briefing for the same
      week; the next run reports from where the previous briefing ended;
    - otherwise the run reports from where the previous briefing ended, so a change neither
      repeats nor drops a stretch of time.

    With no previous briefing, or one two periods old or more (the bot was down), it is the
    scheduled period: after an outage only the latest period is briefed, as before.
    """
    scheduled = period_ending(schedule, run_at)
    length = run_at - scheduled.start
    if reported_until is None or reported_until <= scheduled.start - length:
        return scheduled
    if reported_until >= run_at or run_at - reported_until < length / 2:
        return None
    return Period(start=reported_until, end=run_at)


def resolve_timezone(*candidates: str | None) -> str:
    """The first candidate that is a valid IANA zone (subscription, channel, default); else UTC."""
    for name in candidates:
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


class ScheduleTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler 3 trigger that fires at `next_run` of a `Schedule`."""

    __slots__ = ("schedule",)

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = previous_fire_time if previous_fire_time is not None else now - _EPSILON
        return next_run(self.schedule, after)

    def __str__(self) -> str:
        return f"schedule[{self.schedule.describe()}]"

    def __repr__(self) -> str:
        return f"<ScheduleTrigger ({self.schedule.describe()})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScheduleTrigger) and other.schedule == self.schedule

    __hash__ = None  # type: ignore[assignment]
