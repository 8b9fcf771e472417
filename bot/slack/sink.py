"""SlackSink: the outbox's transport to Slack, mapping Slack's answers onto `DeliveryError`s.

    HTTP 429 / ratelimited               → RateLimitedError(retry_after=Retry-After seconds)
    HTTP 5xx, network errors, timeouts,
      an answer that is not JSON,
      internal_error / fatal_error …     → RetryableError (it may have gone through)
    not_in_channel, channel_not_found,
      is_archived, invalid_auth, …       → ChannelError(code=…)
    anything else (invalid_blocks …)     → DeliveryError (the message is wrong: retrying can't help)

Every post carries metadata (`tocsin_message`: the outbox id and the part), which is how
`find_posted` recognises it in conversations.history / .replies after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.metrics import Metrics
from bot.sinks import (
    ChannelError,
    DeliveryError,
    Post,
    Posted,
    RateLimitedError,
    RetryableError,
    Upload,
)
from bot.slack.channels import DEFAULT_REFRESH, ChannelDirectory
from bot.slack.client import INVALID_RESPONSE, NETWORK_ERRORS, delivery_client, error_code
from bot.slack.client import retry_after as parse_retry_after
from bot.store.types import utcnow

log = logging.getLogger(__name__)

EVENT_TYPE = "tocsin_message"
LEGACY_EVENT_TYPE = "tocsin_alert"  # posted before the outbox carried every kind (id = alert id)
CHANNEL_ERRORS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "restricted_action",
        "not_authed",
        "team_access_not_granted",
    }
)
RETRYABLE_ERRORS = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        INVALID_RESPONSE,
    }
)
HISTORY_PAGES = 10


def message_metadata(message_id: int, part: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"message_id": message_id, "part": part}}


def is_ours(message: dict[str, Any], *, message_id: int, part: int) -> bool:
    """Whether a message from Slack's history is `part` of outbox message `message_id`."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") == EVENT_TYPE:
        return str(payload.get("message_id")) == str(message_id) and payload.get("part") == part
    legacy = metadata.get("event_type") == LEGACY_EVENT_TYPE
    return legacy and part == 0 and str(payload.get("alert_id")) == str(message_id)


class SlackSink:
    name = "slack"

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        engine: Engine,
        client: WebClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        channel_refresh: timedelta = DEFAULT_REFRESH,
        metrics: Metrics | None = None,
    ) -> None:
        if client is None:
            if not token:
                raise ValueError("SlackSink needs a bot token (SLACK_BOT_TOKEN) or a client")
            client = delivery_client(token=token, base_url=base_url, metrics=metrics)
        self.client = client
        self.channels = ChannelDirectory(
            client=client, engine=engine, clock=clock, refresh=channel_refresh
        )

    def post(self, post: Post) -> Posted:
        try:
            if post.update_ts:
                response = self.client.chat_update(
                    channel=post.channel,
                    ts=post.update_ts,
                    text=post.text,
                    blocks=list(post.blocks),
                    parse="none",
                    link_names=False,
                    metadata=message_metadata(post.message_id, post.part),
                )
            else:
                response = self.client.chat_postMessage(
                    channel=post.channel,
                    text=post.text,
                    blocks=list(post.blocks),
                    thread_ts=post.thread_ts,
                    reply_broadcast=post.broadcast or None,
                    unfurl_links=post.unfurl_links,
                    unfurl_media=False,
                    parse="none",
                    link_names=False,
                    metadata=message_metadata(post.message_id, post.part),
                )
        except SlackApiError as exc:
            raise self._classify(exc, channel=post.channel) from exc
        except NETWORK_ERRORS as exc:
            raise RetryableError(f"network error: {exc!r}", channel=post.channel) from exc
        return Posted(ts=response.get("ts"))

    def upload(self, upload: Upload) -> None:
        try:
            self.client.files_upload_v2(
                channel=upload.channel,
                thread_ts=upload.thread_ts,
                content=upload.content,
                filename=upload.filename,
                title=upload.title,
                alt_txt=upload.alt,
            )
        except SlackApiError as exc:
            raise self._classify(exc, channel=upload.channel) from exc
        except NETWORK_ERRORS as exc:
            raise RetryableError(f"network error: {exc!r}", channel=upload.channel) from exc

    def is_ext_shared(self, channel: str) -> bool | None:
        return self.channels.is_ext_shared(channel)

    def find_posted(self, post: Post, *, since: datetime) -> Posted | None:
        """Look for the post's metadata in the channel (or its thread) since `since`."""
        try:
            for message in self._messages(post, oldest=f"{since.timestamp():.6f}"):
                if is_ours(message, message_id=post.message_id, part=post.part):
                    return Posted(ts=message.get("ts"))
        except SlackApiError as exc:
            log.warning(
                "event=reconcile_failed message=%s channel=%s error=%s",
                post.message_id,
                post.channel,
                error_code(exc),
            )
        except NETWORK_ERRORS as exc:
            log.warning(
                "event=reconcile_failed message=%s channel=%s error=%r",
                post.message_id,
                post.channel,
                exc,
            )
        return None

    def _messages(self, post: Post, *, oldest: str) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            common: dict[str, Any] = {
                "channel": post.channel,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": 200,
                "cursor": cursor,
            }
            if post.thread_ts:
                page = self.client.conversations_replies(ts=post.thread_ts, **common)
            else:
                page = self.client.conversations_history(**common)
            yield from page.get("messages") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return

    def _classify(self, exc: SlackApiError, *, channel: str) -> DeliveryError:
        response = exc.response
        status = getattr(response, "status_code", 200)
        code = error_code(exc)
        if status == 429 or code == "ratelimited":
            seconds = parse_retry_after(getattr(response, "headers", {}) or {})
            log.warning("event=slack_ratelimited channel=%s retry_after=%s", channel, seconds)
            return RateLimitedError("rate limited by Slack", channel=channel, retry_after=seconds)
        if status >= 500 or code in RETRYABLE_ERRORS:
            return RetryableError(f"Slack error {status} {code}", channel=channel)
        if code in CHANNEL_ERRORS:
            return ChannelError(
                f"Slack refused channel {channel}: {code}", channel=channel, code=code
            )
        return DeliveryError(f"Slack rejected the message: {code}", channel=channel)
