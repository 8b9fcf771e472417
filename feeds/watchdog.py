"""Per-request watchdog: enforce the total deadline and check the connected peer address.

httpx only has per-operation timeouts, so a server that drips one byte at a time (headers or
body) never trips them. The watchdog learns the request's socket through httpcore's `trace`
extension and shuts it down when the deadline passes; the blocked read then fails and the
fetcher reports a timeout. The same hook checks the address actually connected to, which
closes the DNS-rebinding gap between the guard's lookup and httpx's own.

All watchdogs share one timer thread (`_Alarms`), started on first use: a thread per request
cost more than the request itself on a poll of hundreds of unchanged feeds.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from feeds.errors import BlockedAddressError
from feeds.netguard import is_public_address

__all__ = ["Watchdog"]

_CONNECTED = "connection.connect_tcp.complete"
_TLS_READY = "connection.start_tls.complete"


class Watchdog:
    def __init__(self, *, url: str, seconds: float, check_peer: bool) -> None:
        self.url = url
        self.fired = False
        self._check_peer = check_peer
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._seconds = max(seconds, 0.0)
        self._alarm = 0

    def __enter__(self) -> Self:
        self._alarm = _ALARMS.set(time.monotonic() + self._seconds, self._fire)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _ALARMS.cancel(self._alarm)

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore trace callback (runs in the requesting thread)."""
        if event not in (_CONNECTED, _TLS_READY):
            return
        stream = info["return_value"]
        sock = stream.get_extra_info("socket")
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sock = sock
            fired = self.fired
        if fired:
            _shutdown(sock)
        if event == _CONNECTED and self._check_peer:
            peer = str(sock.getpeername()[0])
            if not is_public_address(peer):
                stream.close()
                raise BlockedAddressError(f"connected to non-public address {peer}", url=self.url)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._sock
        if sock is not None:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter also drops the SSL object
    # that the reading thread is still using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Alarms:
    """One daemon thread that calls each callback when its time (monotonic) comes, unless
    cancelled first."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int]] = []  # heap of (when, alarm id)
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count(1)
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def set(self, when: float, callback: Callable[[], None]) -> int:
        with self._wake:
            alarm = next(self._ids)
            self._callbacks[alarm] = callback
            heapq.heappush(self._due, (when, alarm))
            if self._thread is None or not self._thread.is_alive():  # (none after a fork)
                self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                self._thread.start()
            elif self._due[0][1] == alarm:
                self._wake.notify()
            return alarm

    def cancel(self, alarm: int) -> None:
        with self._wake:
            self._callbacks.pop(alarm, None)  # its heap entry is skipped when it comes up

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._due and self._due[0][1] not in self._callbacks:
                    heapq.heappop(self._due)  # cancelled
                if not self._due:
                    self._wake.wait()
                    continue
                when, alarm = self._due[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._due)
                callback = self._callbacks.pop(alarm)
            callback()


_ALARMS = _Alarms()
