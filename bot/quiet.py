"""Quiet hours and snoozes: when a channel wants no ordinary alerts (pure).

Quiet hours are a daily wall-clock window in the channel's time zone, written "22:00-07:00"
(a window may span midnight). `quiet_until` answers, for an instant, whether it falls inside a
window and when that window ends, computed in UTC from the local dates on either side, so a
daylight-saving change inside the window makes the night an hour shorter or longer, never skips
or repeats it. A wall-clock time that does not exist on a given day (the spring-forward gap) is
read with the offset before the change, as `zoneinfo` does; a repeated one (fall back) as its
first occurrence.

A snooze is a subscription's `muted_until`: `parse_snooze` reads "3d", "12h", "1w" or
"until:2026-12-24" (midnight starting that day in the channel's zone).

    QuietHoursError    a window or a snooze that cannot be read (the message says how to write it)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WINDOW = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*[-–—]\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
SNOOZE = re.compile(r"^(\d{1,3})([hdw])$")
UNTIL = re.compile(r"^until:(\d{4})-(\d{2})-(\d{2})$")
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_SNOOZE = timedelta(days=366)
WINDOW_HELP = "write quiet hours as two 24-hour times, e.g. 22:00-07:00"
SNOOZE_HELP = "write how long, e.g. 12h, 3d or 2w, or a date such as until:2026-12-24"


class QuietHoursError(ValueError):
    pass


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_window(text: str) -> QuietHours:
    """ "22:00-07:00" → QuietHours; `QuietHoursError` for anything else, or an empty window."""
    found = WINDOW.match(text)
    if found is None:
        raise QuietHoursError(f"I can't read {text!r}: {WINDOW_HELP}")
    start = time(int(found[1]), int(found[2]))
    end = time(int(found[3]), int(found[4]))
    if start == end:
        raise QuietHoursError(f"{text!r} starts and ends at the same time: {WINDOW_HELP}")
    return QuietHours(start, end)


def quiet_until(window: QuietHours, *, zone: str, now: datetime) -> datetime | None:
    """If `now` is inside a quiet window (in `zone`), the UTC instant that window ends."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    for day in (today - timedelta(days=1), today):
        start, end = _bounds(window, day, tz)
        if start <= now < end:
            return end
    return None


def _bounds(window: QuietHours, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The window that starts on local date `day`, as UTC instants."""
    end_day = day + timedelta(days=1) if window.end <= window.start else day
    start = datetime.combine(day, window.start, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(end_day, window.end, tzinfo=tz).astimezone(UTC)
    return start, end


def parse_snooze(text: str, *, zone: str, now: datetime) -> datetime:
    """Until when "3d", "12h", "1w" or "until:YYYY-MM-DD" snoozes, from `now` (UTC)."""
    word = text.strip().lower()
    if (found := SNOOZE.match(word)) is not None:
        until = now + int(found[1]) * UNITS[found[2]]
    elif (found := UNTIL.match(word)) is not None:
        try:
            day = date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError as exc:
            raise QuietHoursError(f"{text!r} is not a date: {SNOOZE_HELP}") from exc
        until = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    else:
        raise QuietHoursError(f"I can't read {text!r}: {SNOOZE_HELP}")
    if until <= now:
        raise QuietHoursError(f"{text!r} is already in the past")
    if until - now > MAX_SNOOZE:
        raise QuietHoursError(f"{text!r} is more than a year away; unsubscribe instead")
    return until
