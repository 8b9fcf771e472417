"""Backoff delays and next-poll times (pure; hypothesis checks the invariants)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.backoff import backoff_delay, next_poll

BASE = timedelta(minutes=1)
CAP = timedelta(hours=6)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_delays_double_then_cap() -> None:
    delays = [backoff_delay(n, base=BASE, cap=CAP) for n in range(12)]
    assert delays[:5] == [timedelta(0), BASE, 2 * BASE, 4 * BASE, 8 * BASE]
    assert delays[-1] == CAP
    assert backoff_delay(10_000, base=BASE, cap=CAP) == CAP  # no overflow


def test_seeded_jitter_is_deterministic_and_bounded() -> None:
    one = backoff_delay(3, base=BASE, cap=CAP, seed="gdacs")
    assert one == backoff_delay(3, base=BASE, cap=CAP, seed="gdacs")
    assert 0.9 * 4 * BASE <= one <= 4 * BASE
    others = {backoff_delay(3, base=BASE, cap=CAP, seed=f"feed-{i}") for i in range(20)}
    assert len(others) > 1


@given(
    failures=st.integers(min_value=0, max_value=500),
    base_s=st.integers(min_value=1, max_value=3600),
    cap_s=st.integers(min_value=1, max_value=86_400),
    seed=st.none() | st.text(max_size=20),
)
def test_delay_invariants(failures: int, base_s: int, cap_s: int, seed: str | None) -> None:
    base, cap = timedelta(seconds=base_s), timedelta(seconds=cap_s)
    delay = backoff_delay(failures, base=base, cap=cap, seed=seed)
    assert timedelta(0) <= delay <= cap
    if seed is None:
        assert delay <= backoff_delay(failures + 1, base=base, cap=cap)


def test_next_poll_uses_the_interval_when_healthy_and_backs_off_when_failing() -> None:
    interval = timedelta(minutes=15)
    assert next_poll(now=NOW, interval=interval, failures=0, base=BASE, cap=CAP) == NOW + interval
    # a short backoff never polls a failing feed more often than a healthy one
    assert next_poll(now=NOW, interval=interval, failures=2, base=BASE, cap=CAP) == NOW + interval
    assert next_poll(now=NOW, interval=interval, failures=9, base=BASE, cap=CAP) == NOW + 256 * BASE
    assert next_poll(now=NOW, interval=interval, failures=50, base=BASE, cap=CAP) == NOW + CAP


def test_next_poll_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_poll(now=datetime(2024, 1, 1), interval=BASE, failures=0, base=BASE, cap=CAP)
