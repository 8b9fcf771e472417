"""httpx retrieval with conditional GET, timeouts, a total deadline, size caps and an SSRF guard."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Self

import httpx

from feeds.errors import (
    FetchError,
    HTTPStatusError,
    RedirectError,
    TimeoutError_,
    TooLargeError,
)
from feeds.inflate import ACCEPT_ENCODING, Inflater
from feeds.model import FeedSpec, Fetched, NotModified, Validators
from feeds.netguard import Resolver, check_public_url, check_scheme, resolve_host
from feeds.watchdog import Watchdog

__all__ = ["DEFAULT_USER_AGENT", "FetchOptions", "Fetcher"]

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("tocsin")
    except metadata.PackageNotFoundError:
        return "0"


DEFAULT_USER_AGENT = f"Tocsin/{_version()} (+https://github.com/tocsin-project/tocsin)"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, kw_only=True)
class FetchOptions:
    """Limits for one retrieval. Times are seconds; `deadline` bounds the whole exchange
    (all redirects, headers and body), so a slow-drip server cannot hold a worker forever."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0
    max_bytes: int = 10 * 1024 * 1024  # decoded body
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    allow_private: bool = False  # True only for tests and demos served on 127.0.0.1
    proxy: str | None = None  # explicit proxy; environment proxies are ignored


@dataclass(frozen=True, kw_only=True)
class _Answer:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


class Fetcher:
    """One shared `httpx.Client`; thread-safe; close it (or use `with`) when done."""

    def __init__(
        self,
        options: FetchOptions | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = resolve_host,
    ) -> None:
        self.options = options or FetchOptions()
        self._resolver = resolver
        opts = self.options
        self._client = httpx.Client(
            transport=transport,
            proxy=opts.proxy,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=opts.connect_timeout,
                read=opts.read_timeout,
                write=opts.read_timeout,
                pool=opts.connect_timeout,
            ),
            # A fresh connection per request lets the watchdog see (and check) every socket.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": opts.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, spec: FeedSpec, validators: Validators) -> Fetched | NotModified:
        """Conditional GET of `spec.url`. 304, or a body whose sha256 equals
        `validators.body_hash`, gives `NotModified`; every failure raises a `FetchError`."""
        headers = {"Accept": FEED_ACCEPT}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        answer = self._retrieve("GET", spec.url, headers=headers, content=None)
        etag = answer.headers.get("etag") or validators.etag
        last_modified = answer.headers.get("last-modified") or validators.last_modified
        if answer.status == 304:
            return NotModified(url=answer.url, reason="304", etag=etag, last_modified=last_modified)
        fetched = _fetched(answer)
        if validators.body_hash is not None and fetched.body_hash == validators.body_hash:
            return NotModified(
                url=answer.url, reason="same-body", etag=etag, last_modified=last_modified
            )
        return fetched

    def post_json(
        self,
        url: str,
        payload: Mapping[str, object],
        *,
        params: Mapping[str, str] | None = None,
    ) -> Fetched:
        """POST `payload` as JSON (same guard, caps and deadline as `fetch`)."""
        target = str(httpx.URL(url).copy_merge_params(dict(params or {})))
        content = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        answer = self._retrieve("POST", target, headers=headers, content=content)
        if answer.status == 304:
            raise FetchError("unexpected 304 answer to a POST", url=answer.url)
        return _fetched(answer)

    def _retrieve(
        self, method: str, url: str, *, headers: dict[str, str], content: bytes | None
    ) -> _Answer:
        opts = self.options
        deadline = time.monotonic() + opts.deadline
        seen = {url}
        for _ in range(opts.max_redirects + 1):
            self._guard(url)
            answer = self._exchange(
                method, url, headers=headers, content=content, deadline=deadline
            )
            if isinstance(answer, _Answer):
                return answer
            status, target = answer
            if target in seen:
                raise RedirectError(f"redirect loop back to {target}", url=url)
            seen.add(target)
            logger.debug("redirect %s %s -> %s", status, url, target)
            if status in (301, 302, 303) and method == "POST":
                method, content = "GET", None
                headers = {k: v for k, v in headers.items() if k != "Content-Type"}
            url = target
        raise RedirectError(f"more than {opts.max_redirects} redirects", url=url)

    def _guard(self, url: str) -> None:
        if self.options.allow_private:
            check_scheme(url)
        else:
            check_public_url(url, resolver=self._resolver)

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        content: bytes | None,
        deadline: float,
    ) -> _Answer | tuple[int, str]:
        """One request: an answer, or (status, absolute target) for a redirect."""
        check_peer = not self.options.allow_private and self.options.proxy is None
        with Watchdog(url=url, seconds=deadline - time.monotonic(), check_peer=check_peer) as dog:
            request = self._client.build_request(
                method, url, headers=headers, content=content, extensions={"trace": dog.trace}
            )
            try:
                response = self._client.send(request, stream=True)
                try:
                    return self._read(response, url=url, deadline=deadline)
                finally:
                    response.close()
            except httpx.TimeoutException as exc:
                raise TimeoutError_(f"timed out: {exc!r}", url=url) from exc
            except httpx.HTTPError as exc:
                if dog.fired:
                    raise TimeoutError_("total deadline exceeded", url=url) from exc
                raise FetchError(f"request failed: {exc!r}", url=url) from exc
            except OSError as exc:  # a socket shut by the watchdog can surface raw
                if dog.fired:
                    raise TimeoutError_("total deadline exceeded", url=url) from exc
                raise FetchError(f"request failed: {exc!r}", url=url) from exc

    def _read(
        self, response: httpx.Response, *, url: str, deadline: float
    ) -> _Answer | tuple[int, str]:
        status = response.status_code
        if status in _REDIRECTS and "location" in response.headers:
            target = response.headers["location"]
            try:
                return status, str(response.url.join(target))
            except httpx.InvalidURL as exc:
                raise RedirectError(f"invalid redirect target {target!r}", url=url) from exc
        headers = {key.lower(): value for key, value in response.headers.items()}
        if status == 304:
            return _Answer(url=url, status=status, headers=headers, body=b"")
        if status >= 400:
            raise HTTPStatusError(f"HTTP {status} {response.reason_phrase}", url=url, status=status)
        if not 200 <= status < 300:
            raise FetchError(f"unexpected HTTP status {status}", url=url)
        body = self._read_body(response, url=url, deadline=deadline)
        return _Answer(url=url, status=status, headers=headers, body=body)

    def _read_body(self, response: httpx.Response, *, url: str, deadline: float) -> bytes:
        limit = self.options.max_bytes
        encoding = response.headers.get("content-encoding")
        declared = response.headers.get("content-length", "")
        if not encoding and declared.isdigit() and int(declared) > limit:
            raise TooLargeError(f"body of {declared} bytes exceeds {limit}", url=url)
        raw_chunks: Iterable[bytes]
        if response.is_stream_consumed:
            # Already read and decoded by httpx (e.g. a MockTransport built with `content=`).
            raw_chunks, encoding = [response.content], None
        else:
            raw_chunks = response.iter_raw()
        pieces: list[bytes] = []
        size = 0
        for piece in _decoded(raw_chunks, Inflater(encoding, url=url), url=url, deadline=deadline):
            size += len(piece)
            if size > limit:
                raise TooLargeError(f"decoded body exceeds {limit} bytes", url=url)
            pieces.append(piece)
        return b"".join(pieces)


def _decoded(
    raw_chunks: Iterable[bytes], inflater: Inflater, *, url: str, deadline: float
) -> Iterator[bytes]:
    """Decoded pieces of the body, checking the total deadline between network reads."""
    for raw in raw_chunks:
        if time.monotonic() > deadline:
            raise TimeoutError_("total deadline exceeded while reading the body", url=url)
        yield from inflater.feed(raw)
    yield from inflater.finish()


def _fetched(answer: _Answer) -> Fetched:
    return Fetched(
        url=answer.url,
        status=answer.status,
        body=answer.body,
        headers=answer.headers,
        body_hash=hashlib.sha256(answer.body).hexdigest(),
        etag=answer.headers.get("etag"),
        last_modified=answer.headers.get("last-modified"),
    )
