"""Quiet hours and snoozes (`bot.quiet`): windows across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.quiet import QuietHours, QuietHoursError, parse_snooze, parse_window, quiet_until

NIGHT = QuietHours(time(22, 0), time(7, 0))
BERLIN = "Europe/Berlin"


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-07:00", "22:00-07:00"),
        ("9:30 - 17:05", "09:30-17:05"),
        ("23:59–00:00", "23:59-00:00"),
    ],
)
def test_windows_are_read_and_written_back(text: str, expected: str) -> None:
    assert str(parse_window(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "22-07", "24:00-07:00", "22:00-07:60", "22:00", "7:00-7:00", "x"]
)
def test_bad_windows_say_how_to_write_them(text: str) -> None:
    with pytest.raises(QuietHoursError, match="22:00-07:00"):
        parse_window(text)


def test_a_window_across_midnight() -> None:
    zone = "Africa/Khartoum"  # UTC+2, no daylight saving
    assert quiet_until(NIGHT, zone=zone, now=local(zone, 2026, 6, 1, 21, 59)) is None
    assert quiet_until(NIGHT, zone=zone, now=local(zone, 2026, 6, 1, 22, 0)) == local(
        zone, 2026, 6, 2, 7, 0
    )
    assert quiet_until(NIGHT, zone=zone, now=local(zone, 2026, 6, 2, 3, 0)) == local(
        zone, 2026, 6, 2, 7, 0
    )
    assert quiet_until(NIGHT, zone=zone, now=local(zone, 2026, 6, 2, 7, 0)) is None
    day = QuietHours(time(12, 0), time(14, 0))
    assert quiet_until(day, zone=zone, now=local(zone, 2026, 6, 2, 13, 0)) == local(
        zone, 2026, 6, 2, 14, 0
    )
    assert quiet_until(day, zone=zone, now=local(zone, 2026, 6, 2, 3, 0)) is None


def test_a_night_with_the_clocks_going_forward_is_an_hour_shorter() -> None:
    # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST
    start, end = local(BERLIN, 2026, 3, 28, 22, 0), local(BERLIN, 2026, 3, 29, 7, 0)
    assert end - start == timedelta(hours=8)
    assert _quiet_spans(NIGHT, BERLIN, start - timedelta(hours=2), end + timedelta(hours=2)) == [
        (start, end)
    ]


def test_a_night_with_the_clocks_going_back_is_an_hour_longer() -> None:
    # Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice
    start, end = local(BERLIN, 2026, 10, 24, 22, 0), local(BERLIN, 2026, 10, 25, 7, 0)
    assert end - start == timedelta(hours=10)
    assert _quiet_spans(NIGHT, BERLIN, start - timedelta(hours=2), end + timedelta(hours=2)) == [
        (start, end)
    ]


def test_a_window_starting_in_the_missing_hour_still_happens() -> None:
    window = QuietHours(time(2, 30), time(6, 0))  # 02:30 does not exist in Berlin on 29 March
    spans = _quiet_spans(
        window, BERLIN, local(BERLIN, 2026, 3, 29, 0, 0), local(BERLIN, 2026, 3, 29, 12, 0)
    )
    assert len(spans) == 1 and spans[0][1] == local(BERLIN, 2026, 3, 29, 6, 0)


def _quiet_spans(
    window: QuietHours, zone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Minute by minute: the stretches that are quiet, as (first quiet minute, when it ends)."""
    spans: list[tuple[datetime, datetime]] = []
    now = start
    while now < end:
        until = quiet_until(window, zone=zone, now=now)
        if until is not None and (not spans or spans[-1][1] != until):
            spans.append((now, until))
        now += timedelta(minutes=1)
    return spans


ZONES = st.sampled_from(
    ["UTC", BERLIN, "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Africa/Nairobi"]
)
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@settings(max_examples=400, deadline=None)
@given(
    ZONES,
    TIMES,
    TIMES,
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
)
def test_quiet_until_ends_the_window_it_is_in(
    zone: str, start: time, end: time, now: datetime
) -> None:
    if start == end:
        return
    window = QuietHours(start, end)
    until = quiet_until(window, zone=zone, now=now)
    wall = now.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
    inside = start <= wall < end if start < end else wall >= start or wall < end
    if until is None:
        assert not inside or _near_a_clock_change(zone, now)
        return
    assert now < until <= now + timedelta(hours=25)
    assert until.astimezone(ZoneInfo(zone)).time() == end or _near_a_clock_change(zone, until)
    assert quiet_until(window, zone=zone, now=until) is None or _near_a_clock_change(zone, until)
    assert quiet_until(window, zone=zone, now=until - timedelta(seconds=1)) == until


def _near_a_clock_change(zone: str, moment: datetime) -> bool:
    tz = ZoneInfo(zone)
    offsets = {(moment + timedelta(hours=h)).astimezone(tz).utcoffset() for h in range(-26, 27)}
    return len(offsets) > 1


T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", T + timedelta(hours=12)),
        ("3d", T + timedelta(days=3)),
        ("1W", T + timedelta(weeks=1)),
        ("until:2026-12-24", local("Africa/Nairobi", 2026, 12, 24, 0, 0)),
    ],
)
def test_snoozes(text: str, expected: datetime) -> None:
    assert parse_snooze(text, zone="Africa/Nairobi", now=T) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("forever", "can't read"),
        ("0h", "past"),
        ("until:2026-11-01", "past"),
        ("until:2026-02-30", "not a date"),
        ("until:2030-01-01", "more than a year"),
        ("999w", "more than a year"),
        ("3 d", "can't read"),
        ("-3d", "can't read"),
    ],
)
def test_bad_snoozes(text: str, problem: str) -> None:
    with pytest.raises(QuietHoursError, match=problem):
        parse_snooze(text, zone="UTC", now=T)
