"""SlackSink: posts alerts with chat.postMessage and maps Slack's answers onto `DeliveryError`s.

    HTTP 429                          → RetryableError(retry_after=Retry-After seconds)
    HTTP 5xx, network errors,
      internal_error / fatal_error …  → RetryableError
    not_in_channel, channel_not_found,
      is_archived, invalid_auth, …    → ChannelError(code=…), also recorded on ChannelState.error
    anything else (invalid_blocks …)  → DeliveryError (this message is wrong; retrying won't fix it)

The WebClient here has NO built-in retry handlers: the outbox owns retries, and a silent SDK retry
after a connection error could post the same alert twice.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.web import SlackResponse
from sqlalchemy.engine import Engine

from bot.metrics import Metrics, process_metrics
from bot.render import Message
from bot.sinks import AlertView, ChannelError, Delivered, DeliveryError, RetryableError
from bot.slack.blocks import alert_message
from bot.slack.channels import DEFAULT_REFRESH, ChannelDirectory
from bot.store.types import utcnow

log = logging.getLogger(__name__)

EVENT_TYPE = "tocsin_alert"
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
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
NETWORK_ERRORS: tuple[type[BaseException], ...] = (URLError, OSError, http.client.HTTPException)
SLACK_FAILURES: tuple[type[BaseException], ...] = (SlackApiError, *NETWORK_ERRORS)
HISTORY_PAGES = 10


class MeasuredClient(WebClient):
    """A WebClient that times every Web API call and counts Slack's error codes (`Metrics`)."""

    def __init__(self, *, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        started, error = time.monotonic(), None
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 200)
            error = _error_code(exc)
            error = f"http_{status}" if error == "unknown_error" and status != 200 else error
            raise
        except NETWORK_ERRORS:
            error = "network"
            raise
        finally:
            self.metrics.record_slack_call(
                api_method, seconds=time.monotonic() - started, error=error
            )


def make_client(
    *,
    token: str,
    base_url: str | None = None,
    retry_handlers: list[RetryHandler] | None = None,
    timeout: int = 30,
    metrics: Metrics | None = None,
) -> WebClient:
    """A WebClient aimed at Slack or at SLACK_API_URL (a URL ending in `/api/`), measured.

    `retry_handlers=None` means none at all (the sink's choice: the outbox owns retries).
    """
    return MeasuredClient(
        metrics=metrics or process_metrics(),
        token=token,
        base_url=(base_url.rstrip("/") + "/") if base_url else WebClient.BASE_URL,
        timeout=timeout,
        retry_handlers=retry_handlers or [],
    )


def post_message(
    client: WebClient,
    *,
    channel: str,
    message: Message,
    thread_ts: str | None = None,
    unfurl_links: bool = False,
    metadata: dict[str, Any] | None = None,
) -> SlackResponse:
    """chat.postMessage of a rendered message, verbatim: Slack neither parses nor links names."""
    return client.chat_postMessage(
        channel=channel,
        text=message.text,
        blocks=message.block_dicts(),
        thread_ts=thread_ts,
        unfurl_links=unfurl_links,
        unfurl_media=False,
        parse="none",
        link_names=False,
        metadata=metadata,
    )


def alert_metadata(alert_id: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"alert_id": alert_id}}


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
        unfurl_links: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        if client is None:
            if not token:
                raise ValueError("SlackSink needs a bot token (SLACK_BOT_TOKEN) or a client")
            client = make_client(token=token, base_url=base_url, metrics=metrics)
        self.client = client
        self.unfurl_links = unfurl_links
        self.channels = ChannelDirectory(
            client=client, engine=engine, clock=clock, refresh=channel_refresh
        )

    def deliver(self, alert: AlertView) -> Delivered:
        try:
            response = post_message(
                self.client,
                channel=alert.channel,
                message=alert_message(alert),
                thread_ts=alert.thread_ts,
                unfurl_links=self.unfurl_links,
                metadata=alert_metadata(alert.alert_id),
            )
        except SlackApiError as exc:
            raise self._classify(exc, channel=alert.channel) from exc
        except NETWORK_ERRORS as exc:
            raise RetryableError(f"network error: {exc!r}", channel=alert.channel) from exc
        self.channels.record_post(alert.channel)
        return Delivered(message_ts=response.get("ts"), thread_ts=alert.thread_ts)

    def may_post(self, channel: str, *, restricted: bool) -> bool:
        return self.channels.may_post(channel, restricted=restricted)

    def find_delivered(self, alert: AlertView, *, since: datetime) -> Delivered | None:
        """Look for our metadata in the channel (or the story's thread) since `since`."""
        try:
            for message in self._messages(alert, oldest=f"{since.timestamp():.6f}"):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if (message.get("metadata") or {}).get("event_type") == EVENT_TYPE and str(
                    payload.get("alert_id")
                ) == str(alert.alert_id):
                    return Delivered(message_ts=message.get("ts"), thread_ts=alert.thread_ts)
        except SlackApiError as exc:
            log.warning(
                "event=reconcile_failed alert=%s channel=%s error=%s",
                alert.alert_id,
                alert.channel,
                _error_code(exc),
            )
        except NETWORK_ERRORS as exc:
            log.warning(
                "event=reconcile_failed alert=%s channel=%s error=%r",
                alert.alert_id,
                alert.channel,
                exc,
            )
        return None

    def _messages(self, alert: AlertView, *, oldest: str) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            common: dict[str, Any] = {
                "channel": alert.channel,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": 200,
                "cursor": cursor,
            }
            if alert.thread_ts:
                page = self.client.conversations_replies(ts=alert.thread_ts, **common)
            else:
                page = self.client.conversations_history(**common)
            yield from page.get("messages") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return

    def _classify(self, exc: SlackApiError, *, channel: str) -> DeliveryError:
        response = exc.response
        status = getattr(response, "status_code", 200)
        code = _error_code(exc)
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after(getattr(response, "headers", {}) or {})
            log.warning("event=slack_ratelimited channel=%s retry_after=%s", channel, retry_after)
            return RetryableError("rate limited by Slack", channel=channel, retry_after=retry_after)
        if status >= 500 or code in RETRYABLE_ERRORS:
            return RetryableError(f"Slack error {status} {code}", channel=channel)
        if code in CHANNEL_ERRORS:
            log.error(
                "event=slack_channel_error channel=%s code=%s: Tocsin cannot post there; "
                "invite the bot, unarchive the channel or fix the token/scopes",
                channel,
                code,
            )
            self.channels.record_error(channel, code)
            return ChannelError(
                f"Slack refused channel {channel}: {code}", channel=channel, code=code
            )
        return DeliveryError(f"Slack rejected the message: {code}", channel=channel)


def _error_code(exc: SlackApiError) -> str:
    response = exc.response
    try:
        return str(response.get("error") or "unknown_error")
    except (AttributeError, TypeError):
        return "unknown_error"


def _retry_after(headers: dict[str, Any]) -> float:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(float(value[0] if isinstance(value, list) else value), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0
