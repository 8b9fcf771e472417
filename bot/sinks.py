"""The `Sink` interface the outbox drains into, and the plain data it is given.

DeliveryError            carries the channel; `retry_after` (seconds) when the sink was throttled
├── RetryableError       5xx, network errors, 429: try again later with backoff
└── ChannelError         not_in_channel, channel_not_found, is_archived, invalid_auth, ...:
                         stop sending to that channel until someone fixes it
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class Evidence:
    code: str
    name: str
    phrase: str
    field: str


@dataclass(frozen=True, kw_only=True)
class AlertView:
    """Everything a sink needs to show one alert. All strings are raw (unescaped) text."""

    alert_id: int
    channel: str
    situation: str
    situation_name: str
    severity: str
    score: float
    why: str
    title: str
    url: str | None
    source: str
    published: datetime
    summary: str
    language: str | None
    evidence: tuple[Evidence, ...]
    thread_ts: str | None = None
    cluster_size: int = 1


@dataclass(frozen=True, kw_only=True)
class Delivered:
    message_ts: str | None
    thread_ts: str | None = None


class DeliveryError(Exception):
    def __init__(self, message: str, *, channel: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.channel = channel
        self.retry_after = retry_after


class RetryableError(DeliveryError):
    pass


class ChannelError(DeliveryError):
    """The channel cannot receive messages; `code` is Slack's error code."""

    def __init__(self, message: str, *, channel: str, code: str) -> None:
        super().__init__(message, channel=channel)
        self.code = code


class Sink(Protocol):
    """Where alerts go. `deliver` raises `DeliveryError`s; anything else is a bug."""

    name: str

    def deliver(self, alert: AlertView) -> Delivered: ...

    def find_delivered(self, alert: AlertView, *, since: datetime) -> Delivered | None:
        """After a crash mid-send: was this alert already posted? (None when unknown/not.)"""
        ...

    def may_post(self, channel: str, *, restricted: bool) -> bool:
        """False when the channel must not receive this alert (e.g. restricted in Slack Connect)."""
        ...
