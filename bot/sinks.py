"""The `Sink` interface the deliverer drains the outbox into, and the plain data it is given.

A sink is transport only. It receives rendered Slack messages (`Post`: notification text and
Block Kit JSON, new or an edit of one already posted) and files (`Upload`), and reports what
happened. Every kind of message reaches every sink through the same deliverer, so the console and
Slack get the same guarantees (recorded intent, reconciliation, order, policy).

DeliveryError            carries the channel; this message was not delivered. Raised as itself
│                        when the destination rejected the message (invalid_blocks …):
│                        retrying cannot help, so it fails at once
├── RetryableError       5xx, network errors, timeouts, an unreadable answer: it may have gone
│                        through, so the deliverer backs off and looks before posting again
├── RateLimitedError     429: certainly not posted; the channel pauses `retry_after` seconds
└── ChannelError         not_in_channel, channel_not_found, is_archived, invalid_auth …: stop
                         sending to that channel until someone fixes it
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, kw_only=True)
class Post:
    """One Slack message: posted new, or (`update_ts`) replacing one already posted.

    `message_id` and `part` identify it (they travel as message metadata, which is how a sink
    finds it again after a crash); `severity` is a hint for sinks that colour messages.
    """

    message_id: int
    part: int
    channel: str
    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    thread_ts: str | None = None
    broadcast: bool = False
    update_ts: str | None = None
    unfurl_links: bool = False
    severity: str | None = None


@dataclass(frozen=True, kw_only=True)
class Upload:
    """A file shared into a channel (a briefing's chart), in the thread of `thread_ts`."""

    message_id: int
    channel: str
    thread_ts: str | None
    content: bytes
    filename: str
    title: str
    alt: str


@dataclass(frozen=True, kw_only=True)
class Posted:
    ts: str | None


class DeliveryError(Exception):
    def __init__(self, message: str, *, channel: str) -> None:
        super().__init__(message)
        self.channel = channel


class RetryableError(DeliveryError):
    pass


class RateLimitedError(DeliveryError):
    """Slack said "not now": nothing was posted; wait `retry_after` seconds before the next post."""

    def __init__(self, message: str, *, channel: str, retry_after: float) -> None:
        super().__init__(message, channel=channel)
        self.retry_after = retry_after


class ChannelError(DeliveryError):
    """The channel cannot receive messages; `code` is Slack's error code."""

    def __init__(self, message: str, *, channel: str, code: str) -> None:
        super().__init__(message, channel=channel)
        self.code = code


class Sink(Protocol):
    """Where messages go. `post` and `upload` raise `DeliveryError`s; anything else is a bug."""

    name: str

    def post(self, post: Post) -> Posted: ...

    def upload(self, upload: Upload) -> None: ...

    def find_posted(self, post: Post, *, since: datetime) -> Posted | None:
        """After an attempt of unknown outcome: was this post made? (None when not, or unknown.)"""
        ...

    def is_ext_shared(self, channel: str) -> bool | None:
        """Is the channel shared with another organisation? None when the sink cannot tell."""
        ...
