"""Per-request watchdog: enforce the total deadline and check the connected peer address.

httpx only has per-operation timeouts, so a server that drips one byte at a time (headers or
body) never trips them. The watchdog learns the request's socket through httpcore's `trace`
extension and shuts it down when the deadline passes; the blocked read then fails and the
fetcher reports a timeout. The same hook checks the address actually connected to, which
closes the DNS-rebinding gap between the guard's lookup and httpx's own.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Mapping
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
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()

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
