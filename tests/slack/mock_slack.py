"""A local Slack Web API (and response_url) server for tests: 127.0.0.1, port 0, records calls.

slack = MockSlack()                       # started; slack.base_url ends in /api/
slack.on("chat.postMessage", status=429, headers={"Retry-After": "7"})   # next call only
slack.on("conversations.info", body={"ok": True, "channel": {...}}, times=None)  # always
slack.calls("chat.postMessage")[0].body["channel"]
slack.wait_for("response", count=1)      # deferred slash-command replies (response_url)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

JSON_FIELDS = ("blocks", "metadata", "view", "attachments")


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    raw: str


@dataclass
class Canned:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: forever


class MockSlack:
    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._canned: dict[str, deque[Canned]] = {}
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        handler = type("Handler", (_Handler,), {"mock": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- behaviour -------------------------------------------------------------------------
    def on(
        self,
        method: str,
        *,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        with self._lock:
            queue = self._canned.setdefault(method, deque())
            queue.append(Canned(status=status, body=body, headers=headers or {}, times=times))

    def _answer(self, method: str, body: dict[str, Any]) -> Canned:
        with self._lock:
            queue = self._canned.get(method)
            if queue:
                canned = queue[0]
                if canned.times is not None:
                    canned.times -= 1
                    if canned.times <= 0:
                        queue.popleft()
                return canned
        return Canned(body=self._default(method, body))

    def _default(self, method: str, body: dict[str, Any]) -> Any:
        if method == "response":
            return "ok"
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "team": "t"}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "conversations.info":
            channel = body.get("channel")
            return {"ok": True, "channel": {"id": channel, "is_ext_shared": False}}
        if method == "chat.getPermalink":
            ts = str(body.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "permalink": f"https://example.slack.com/archives/{body.get('channel')}/p{ts}",
            }
        if method == "users.conversations":
            return {"ok": True, "channels": [], "response_metadata": {"next_cursor": ""}}
        if method in ("conversations.history", "conversations.replies"):
            return {"ok": True, "messages": [], "response_metadata": {"next_cursor": ""}}
        return {"ok": True}

    # -- recording -------------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def wait_for(self, method: str, *, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._calls if c.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} call(s) to {method}, got {len(found)}; "
                        f"calls so far: {[c.method for c in self._calls]}"
                    )
                self._lock.wait(remaining)


class _Handler(BaseHTTPRequestHandler):
    mock: MockSlack

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        body = _parse(raw, self.headers.get("Content-Type", ""))
        if self.path.startswith("/api/"):
            method = self.path[len("/api/") :].split("?")[0]
        elif self.path.startswith("/response/"):
            method = "response"
        else:
            method = self.path
        self.mock._record(Call(method=method, body=body, headers=dict(self.headers), raw=raw))
        canned = self.mock._answer(method, body)
        payload = canned.body
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(canned.status)
        content_type = "text/plain" if isinstance(payload, str) else "application/json"
        self.send_header("Content-Type", content_type)
        for key, value in canned.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        body = json.loads(raw or "{}")
    else:
        body = dict(parse_qsl(raw, keep_blank_values=True))
    for key in JSON_FIELDS:
        if isinstance(body.get(key), str):
            with contextlib.suppress(ValueError):
                body[key] = json.loads(body[key])
    return body
