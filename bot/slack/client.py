"""The Slack Web API client: built here and nowhere else, measured, aimed at SLACK_API_URL.

Two flavours of the same `MeasuredClient`:

    delivery_client   NO retry handlers: the outbox owns retries, and a silent SDK retry after a
                      connection error could post the same message twice (the SlackSink's client)
    app_client        answers a person who is waiting (commands, buttons, App Home): keeps
                      slack_sdk's connection-error retry and adds one retry on HTTP 429; none of
                      its calls posts a message (every message goes through the outbox)

`error_code` reads Slack's error code from a failure, for logs, metrics and classification.
"""

from __future__ import annotations

import http.client
import time
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import default_retry_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from bot.config import Secrets
from bot.metrics import Metrics, process_metrics

NETWORK_ERRORS: tuple[type[BaseException], ...] = (URLError, OSError, http.client.HTTPException)
SLACK_FAILURES: tuple[type[BaseException], ...] = (SlackApiError, *NETWORK_ERRORS)
INVALID_RESPONSE = "invalid_response"  # Slack's answer was not JSON (a proxy page, a cut body)
_NON_JSON = "Received a response in a non-JSON format"  # how slack_sdk reports it


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
            error = error_code(exc)
            error = f"http_{status}" if error == "unknown_error" and status != 200 else error
            raise
        except NETWORK_ERRORS:
            error = "network"
            raise
        finally:
            self.metrics.record_slack_call(
                api_method, seconds=time.monotonic() - started, error=error
            )


def _client(
    *, token: str, base_url: str | None, retry_handlers: list[Any], timeout: int, metrics: Metrics
) -> MeasuredClient:
    return MeasuredClient(
        metrics=metrics,
        token=token,
        base_url=(base_url.rstrip("/") + "/") if base_url else WebClient.BASE_URL,
        timeout=timeout,
        retry_handlers=retry_handlers,
    )


def delivery_client(
    *, token: str, base_url: str | None = None, timeout: int = 30, metrics: Metrics | None = None
) -> WebClient:
    """The client that posts messages: no automatic retries of any kind (see the docstring)."""
    return _client(
        token=token,
        base_url=base_url,
        retry_handlers=[],
        timeout=timeout,
        metrics=metrics or process_metrics(),
    )


def app_client(secrets: Secrets, *, metrics: Metrics | None = None) -> WebClient:
    """The client for commands, buttons and App Home (see the docstring)."""
    if not secrets.slack_bot_token:
        raise ValueError("the Slack app needs SLACK_BOT_TOKEN")
    return _client(
        token=secrets.slack_bot_token,
        base_url=secrets.slack_api_url,
        retry_handlers=[*default_retry_handlers(), RateLimitErrorRetryHandler(max_retry_count=1)],
        timeout=30,
        metrics=metrics or process_metrics(),
    )


def error_code(exc: SlackApiError) -> str:
    """Slack's error code (`not_in_channel` …); `invalid_response` when the answer was not JSON."""
    try:
        code = str(exc.response.get("error") or "unknown_error")
    except (AttributeError, TypeError):
        return "unknown_error"
    return INVALID_RESPONSE if code.startswith(_NON_JSON) else code


def retry_after(headers: dict[str, Any]) -> float:
    """Seconds from a Retry-After header (1 when absent or unreadable)."""
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(float(value[0] if isinstance(value, list) else value), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0
