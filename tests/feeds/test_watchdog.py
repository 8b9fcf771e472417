"""The watchdogs' shared timer: each fires at its own deadline, a cancelled one never fires."""

from __future__ import annotations

import time

from feeds.watchdog import Watchdog


def _wait_until_fired(dog: Watchdog) -> None:
    give_up = time.monotonic() + 10
    while not dog.fired and time.monotonic() < give_up:
        time.sleep(0.01)


def test_a_cancelled_watchdog_never_fires_and_the_others_still_do() -> None:
    cancelled = Watchdog(url="http://a.example/", seconds=0.05, check_peer=False)
    later = Watchdog(url="http://b.example/", seconds=0.2, check_peer=False)
    latest = Watchdog(url="http://c.example/", seconds=60, check_peer=False)
    with later, latest:
        with cancelled:
            pass  # the request finished before its deadline
        _wait_until_fired(later)
        assert later.fired and not latest.fired  # each at its own deadline
    assert not cancelled.fired  # its deadline was the first to pass
    assert not latest.fired  # cancelled on leaving


def test_many_watchdogs_share_one_thread() -> None:
    import threading

    dogs = [Watchdog(url=f"http://{i}.example/", seconds=60, check_peer=False) for i in range(50)]
    for dog in dogs:
        dog.__enter__()
    try:
        names = [t.name for t in threading.enumerate()]
        assert names.count("watchdog") == 1, names
    finally:
        for dog in dogs:
            dog.__exit__(None, None, None)
    assert not any(dog.fired for dog in dogs)
