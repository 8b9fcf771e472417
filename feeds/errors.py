"""Exceptions raised by `feeds/`, one tree rooted in `FeedError`.

FeedError                 every error carries the feed URL it concerns
├── FetchError            the source could not be retrieved
│   ├── HTTPStatusError   4xx / 5xx answer (carries the status)
│   ├── TooLargeError     decoded body over the size cap
│   ├── TimeoutError_     connect or read timeout, or total deadline
│   ├── RedirectError     too many redirects or a redirect loop
│   └── BlockedAddressError  target resolves to a private/loopback address not allowed
├── ParseError            bytes were retrieved but are not a usable feed / API answer
└── BudgetExhaustedError  (ReliefWeb) the daily call budget is spent
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[FeedError], message: str, state: dict[str, Any]) -> FeedError:
    """Unpickle helper: keyword-only constructors defeat `BaseException.__reduce__`."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class FeedError(Exception):
    """Base class. `url` names the culprit."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.url})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (parse_feed runs in a ProcessPoolExecutor).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


class FetchError(FeedError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, message: str, *, url: str, status: int) -> None:
        super().__init__(message, url=url)
        self.status = status


class TooLargeError(FetchError):
    pass


class TimeoutError_(FetchError):  # noqa: N801, N818 - avoid shadowing the builtin
    pass


class RedirectError(FetchError):
    pass


class BlockedAddressError(FetchError):
    pass


class ParseError(FeedError):
    pass


class BudgetExhaustedError(FeedError):
    pass
