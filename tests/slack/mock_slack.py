"""A local Slack Web API (and response_url) server for tests: 127.0.0.1, port 0, records calls.

slack = MockSlack()                       # started; slack.base_url ends in /api/
slack.on("chat.postMessage", status=429, headers={"Retry-After": "7"})   # next call only
slack.on("conversations.info", body={"ok": True, "channel": {...}}, times=None)  # always
slack.calls("chat.postMessage")[0].body["channel"]
slack.wait_for("response", count=1)      # deferred slash-command replies (response_url)
slack.uploads["F1"]                      # bytes sent by files_upload_v2 (files.getUploadURLExternal
                                         # → POST /upload/F1, recorded as "upload" → files.
                                         # completeUploadExternal)

Like Slack, it keeps the messages it accepted: conversations.history / conversations.replies answer
from them (metadata only with include_all_metadata; a reply posted with reply_broadcast is in the
channel's history too), so "did that post go through before the crash?" has a real answer.
chat.update replaces a kept message (message_not_found when there is none). Options for
reliability tests and benchmarks:

MockSlack(post_delay=(0.005, 0.02))      # each accepted chat.postMessage answers 5–20 ms late
MockSlack(channel_rate=1.0)              # 429 + Retry-After when a channel gets 2 posts within 1 s
MockSlack(ratelimit_every=7)             # every 7th post to a channel: 429, Retry-After: 1
MockSlack(realtime_ts=True)              # message ts from the wall clock (history `oldest` works)
slack.accepted()                         # every message accepted, in order (as updated since)
slack.updates()                          # every chat.update accepted, in order
slack.on_accept = callback               # called with each accepted post (its Call: method,
                                         # body, headers) before it is answered
slack.garble(times=1)                    # the next post is kept, but answered with a non-JSON body
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

JSON_FIELDS = ("blocks", "metadata", "view", "attachments", "files")


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
    def __init__(
        self,
        *,
        post_delay: tuple[float, float] = (0.0, 0.0),
        channel_rate: float | None = None,
        ratelimit_every: int | None = None,
        realtime_ts: bool = False,
        seed: int = 0,
    ) -> None:
        self._calls: list[Call] = []
        self._canned: dict[str, deque[Canned]] = {}
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.uploads: dict[str, bytes] = {}  # file id → bytes posted to its upload URL
        self._messages: list[dict[str, Any]] = []  # accepted chat.postMessage, in order
        self._last_post: dict[str, float] = {}  # channel → monotonic time of its last accepted post
        self._posts_seen: dict[str, int] = {}  # channel → chat.postMessage calls so far
        self._updates: list[dict[str, Any]] = []  # accepted chat.update bodies, in order
        self._last_ts = 0.0
        self.post_delay = post_delay
        self.channel_rate = channel_rate
        self.ratelimit_every = ratelimit_every
        self.realtime_ts = realtime_ts
        self._random = random.Random(seed)
        self.on_accept: Callable[[Call], None] | None = None
        self._garble = 0  # accepted posts still to answer with an unreadable body
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

    def garble(self, *, times: int = 1) -> None:
        """Keep the next `times` posts but answer each with a body that is not JSON (a proxy's
        error page), so the client cannot know that they went through."""
        with self._lock:
            self._garble += times

    def _garbled(self, canned: Canned) -> Canned:
        with self._lock:
            if canned.status != 200 or self._garble <= 0:
                return canned
            self._garble -= 1
        return Canned(status=200, body="<html>502 Bad Gateway</html>")

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
            if method == "chat.postMessage":
                return self._post_message(body)
            if method == "chat.update":
                return self._update(body)
            return Canned(body=self._default(method, body))

    def _post_message(self, body: dict[str, Any]) -> Canned:
        """Accept (and keep) a message, or answer 429 when the channel is over `channel_rate`."""
        channel = str(body.get("channel"))
        now = time.monotonic()
        seen = self._posts_seen[channel] = self._posts_seen.get(channel, 0) + 1
        if self.ratelimit_every and seen % self.ratelimit_every == 0:
            return _ratelimited("1")
        if self.channel_rate:
            last = self._last_post.get(channel)
            gap = 1.0 / self.channel_rate
            if last is not None and now - last < gap:
                return _ratelimited(str(max(1, math.ceil(gap - (now - last)))))
        self._last_post[channel] = now
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "text": body.get("text", ""),
            "bot_id": "BBOT",
        }
        for key in ("thread_ts", "metadata", "blocks", "reply_broadcast"):
            if body.get(key):
                message[key] = body[key]
        self._messages.append(message)
        answer = {key: value for key, value in message.items() if key != "metadata"}
        return Canned(body={"ok": True, "channel": channel, "ts": ts, "message": answer})

    def _update(self, body: dict[str, Any]) -> Canned:
        """chat.update: replace a kept message's text, blocks and metadata."""
        channel, ts = str(body.get("channel")), str(body.get("ts"))
        found = next((m for m in self._messages if m["channel"] == channel and m["ts"] == ts), None)
        if found is None:
            return Canned(body={"ok": False, "error": "message_not_found"})
        for key in ("text", "blocks", "metadata"):
            if key in body:
                found[key] = body[key]
        self._updates.append(dict(body))
        return Canned(body={"ok": True, "channel": channel, "ts": ts, "text": body.get("text")})

    def _next_ts(self) -> str:
        if not self.realtime_ts:
            return f"1700000000.{next(self._ts):06d}"
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _delay(self, method: str, status: int) -> float:
        """How long an accepted post waits before its answer (it is already in the history)."""
        low, high = self.post_delay
        if method != "chat.postMessage" or status != 200 or high <= 0:
            return 0.0
        with self._lock:
            return self._random.uniform(low, high)

    def _history(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (newest first) or .replies (thread, oldest first), paged."""
        channel = str(body.get("channel"))
        oldest = float(body.get("oldest") or 0)
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        if method == "conversations.replies":
            parent = str(body.get("ts"))
            found = [
                m
                for m in self._messages
                if m["channel"] == channel and parent in (m["ts"], m.get("thread_ts"))
            ]
        else:
            found = [
                m
                for m in reversed(self._messages)
                if m["channel"] == channel
                and (m.get("thread_ts") in (None, m["ts"]) or m.get("reply_broadcast"))
            ]
        found = [m for m in found if float(m["ts"]) > oldest]
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 100)
        page = found[start : start + limit]
        more = start + limit < len(found)
        messages = [
            {key: value for key, value in m.items() if with_metadata or key != "metadata"}
            for m in page
        ]
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _default(self, method: str, body: dict[str, Any]) -> Any:
        if method == "response":
            return "ok"
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "team": "t"}
        if method == "conversations.info":
            channel = body.get("channel")
            return {"ok": True, "channel": {"id": channel, "is_ext_shared": False}}
        if method == "chat.getPermalink":
            ts = str(body.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "permalink": f"https://example.slack.com/archives/{body.get('channel')}/p{ts}",
            }
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._file_ids)}"
            url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
            return {"ok": True, "file_id": file_id, "upload_url": url}
        if method == "files.completeUploadExternal":
            files = [{"id": f.get("id"), "title": f.get("title")} for f in body.get("files") or []]
            return {"ok": True, "files": files}
        if method == "upload":
            return "OK"
        if method == "conversations.open":  # the bot's DM with a user: D + the user id's rest
            user = str(body.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "users.conversations":
            return {"ok": True, "channels": [], "response_metadata": {"next_cursor": ""}}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, body)
        return {"ok": True}

    # -- recording -------------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def accepted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The messages chat.postMessage accepted (those a Slack user would see), in order."""
        with self._lock:
            return [dict(m) for m in self._messages if channel is None or m["channel"] == channel]

    def updates(self) -> list[dict[str, Any]]:
        """The chat.update calls that were accepted, in order."""
        with self._lock:
            return [dict(u) for u in self._updates]

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
        data = self.rfile.read(length)
        if len(data) < length:  # the client died mid-request: Slack never acts on a cut body
            return
        if self.path.startswith("/upload/"):  # files_upload_v2 step 2: raw bytes, not a form
            file_id = self.path[len("/upload/") :]
            self.mock.uploads[file_id] = data
            data = f"file_id={file_id}&length={len(data)}".encode()
        raw = data.decode("utf-8", errors="replace")
        try:
            body = _parse(raw, self.headers.get("Content-Type", ""))
        except ValueError:  # a client killed mid-request: Slack never sees a partial body
            self.send_error(400, "unreadable body")
            return
        if self.path.startswith("/api/"):
            method = self.path[len("/api/") :].split("?")[0]
        elif self.path.startswith("/response/"):
            method = "response"
        elif self.path.startswith("/upload/"):
            method = "upload"
        else:
            method = self.path
        call = Call(method=method, body=body, headers=dict(self.headers), raw=raw)
        self.mock._record(call)
        canned = self.mock._answer(method, body)
        if method == "chat.postMessage" and canned.status == 200 and self.mock.on_accept:
            self.mock.on_accept(call)
        if method == "chat.postMessage":
            canned = self.mock._garbled(canned)
        delay = self.mock._delay(method, canned.status)
        if delay:
            time.sleep(delay)
        payload = canned.body
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(canned.status)
        content_type = "text/plain" if isinstance(payload, str) else "application/json"
        self.send_header("Content-Type", content_type)
        for key, value in canned.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        with contextlib.suppress(ConnectionError):  # the client died waiting for its answer
            self.end_headers()
            self.wfile.write(data)


def _ratelimited(retry_after: str) -> Canned:
    return Canned(
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": retry_after},
    )


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
