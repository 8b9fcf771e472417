"""Fetcher behaviour over httpx.MockTransport and a real loopback server."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from threading import Event

import httpx
import pytest

from feeds.errors import (
    FeedError,
    FetchError,
    HTTPStatusError,
    RedirectError,
    TimeoutError_,
    TooLargeError,
)
from feeds.fetch import DEFAULT_USER_AGENT, Fetcher, FetchOptions
from feeds.model import Fetched, NotModified, Validators
from tests.feeds.conftest import LOCAL, LoopbackServer, drip, fetcher_for, respond, spec

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
MiB = 1024 * 1024


def gzip_bomb(decoded_size: int) -> bytes:
    """`decoded_size` zero bytes, gzipped a MiB at a time (the test never holds them all)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(MiB)
    parts = [compressor.compress(chunk) for _ in range(decoded_size // MiB)]
    parts.append(compressor.flush())
    return b"".join(parts)


# --- conditional GET ------------------------------------------------------------------


def test_conditional_get_sends_validators_and_maps_304() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return respond(200, FEED, {"ETag": '"v1"'})

    with fetcher_for(handler) as fetcher:
        first = fetcher.fetch(spec(), Validators())
        assert isinstance(first, Fetched)
        assert first.etag == '"v1"' and first.body == FEED
        second = fetcher.fetch(
            spec(), Validators(etag=first.etag, last_modified="Sat, 01 Jun 2024 10:00:00 GMT")
        )
    assert second == NotModified(
        url="https://feeds.example.org/feed.xml",
        reason="304",
        etag='"v1"',
        last_modified="Sat, 01 Jun 2024 10:00:00 GMT",
    )
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == '"v1"'
    assert seen[1].headers["if-modified-since"] == "Sat, 01 Jun 2024 10:00:00 GMT"
    assert seen[0].headers["user-agent"] == DEFAULT_USER_AGENT
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"


def test_same_body_hash_is_not_modified() -> None:
    with fetcher_for(lambda request: respond(200, FEED)) as fetcher:
        first = fetcher.fetch(spec(), Validators())
        assert isinstance(first, Fetched)
        second = fetcher.fetch(spec(), Validators(body_hash=first.body_hash))
        third = fetcher.fetch(spec(), Validators(body_hash="0" * 64))
    assert isinstance(second, NotModified) and second.reason == "same-body"
    assert isinstance(third, Fetched)


def test_user_agent_names_the_project() -> None:
    assert DEFAULT_USER_AGENT.startswith("Tocsin/")
    assert "(+https://github.com/tocsin-project/tocsin)" in DEFAULT_USER_AGENT


# --- size caps and content encodings --------------------------------------------------


def test_gzip_bomb_stops_at_the_cap_without_inflating_everything() -> None:
    bomb = gzip_bomb(50 * MiB)
    assert len(bomb) < MiB  # ~50 KiB on the wire
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
    transport = httpx.MockTransport(lambda request: respond(200, bomb, headers))
    options = FetchOptions(allow_private=True, max_bytes=MiB)
    with Fetcher(options, transport=transport) as fetcher:
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(TooLargeError) as caught:
                fetcher.fetch(spec(), Validators())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert time.monotonic() - started < 2
    assert peak < 4 * MiB, f"peak {peak / MiB:.1f} MiB: the bomb was inflated"
    assert caught.value.url == "https://feeds.example.org/feed.xml"


def test_plain_body_over_the_cap_fails_while_streaming() -> None:
    def stream() -> Iterator[bytes]:
        for _ in range(100):
            yield bytes(64 * 1024)

    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=stream())
    )  # no length
    with (
        Fetcher(FetchOptions(allow_private=True, max_bytes=MiB), transport=transport) as f,
        pytest.raises(TooLargeError),
    ):
        f.fetch(spec(), Validators())


def test_declared_length_over_the_cap_fails_before_reading() -> None:
    transport = httpx.MockTransport(lambda request: respond(200, bytes(2 * MiB)))
    with (
        Fetcher(FetchOptions(allow_private=True, max_bytes=MiB), transport=transport) as f,
        pytest.raises(TooLargeError, match="exceeds"),
    ):
        f.fetch(spec(), Validators())


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
        ("gzip", lambda data: gzip.compress(data[:10]) + gzip.compress(data[10:])),
    ],
    ids=["gzip", "zlib-deflate", "raw-deflate", "multi-member-gzip"],
)
def test_compressed_bodies_are_decoded(encoding: str, encode: object) -> None:
    body = encode(FEED)  # type: ignore[operator]
    headers = {"Content-Encoding": encoding}
    with fetcher_for(lambda request: respond(200, body, headers)) as f:
        result = f.fetch(spec(), Validators())
    assert isinstance(result, Fetched) and result.body == FEED


def test_truncated_gzip_is_a_clear_fetch_error() -> None:
    body = gzip.compress(FEED * 50)[:-30]
    headers = {"Content-Encoding": "gzip"}
    with (
        fetcher_for(lambda request: respond(200, body, headers)) as f,
        pytest.raises(FetchError, match="truncated gzip body") as caught,
    ):
        f.fetch(spec(), Validators())
    assert not isinstance(caught.value, TooLargeError)


def test_corrupt_gzip_is_a_fetch_error_chained_to_zlib() -> None:
    body = b"\x1f\x8b\x08\x00garbage-garbage-garbage"
    headers = {"Content-Encoding": "gzip"}
    with (
        fetcher_for(lambda request: respond(200, body, headers)) as f,
        pytest.raises(FetchError, match="corrupt gzip") as caught,
    ):
        f.fetch(spec(), Validators())
    assert isinstance(caught.value.__cause__, zlib.error)


def test_unadvertised_content_encoding_is_refused() -> None:
    headers = {"Content-Encoding": "br"}
    with (
        fetcher_for(lambda request: respond(200, b"x", headers)) as f,
        pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"),
    ):
        f.fetch(spec(), Validators())


# --- redirects ------------------------------------------------------------------------


def test_redirects_are_followed_and_the_final_url_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        return respond(200, FEED)

    with fetcher_for(handler) as fetcher:
        result = fetcher.fetch(spec("https://feeds.example.org/old"), Validators())
    assert isinstance(result, Fetched)
    assert result.url == "https://feeds.example.org/new"


def test_redirect_loop_is_detected() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        target = "/b" if request.url.path == "/a" else "/a"
        return httpx.Response(302, headers={"Location": target})

    with fetcher_for(handler) as fetcher, pytest.raises(RedirectError, match="loop"):
        fetcher.fetch(spec("https://feeds.example.org/a"), Validators())


def test_too_many_redirects() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        step = int(request.url.path.rsplit("/", 1)[1])
        return httpx.Response(307, headers={"Location": f"/r/{step + 1}"})

    with (
        fetcher_for(handler, FetchOptions(allow_private=True, max_redirects=3)) as f,
        pytest.raises(RedirectError, match="more than 3 redirects"),
    ):
        f.fetch(spec("https://feeds.example.org/r/0"), Validators())
    assert calls == ["/r/0", "/r/1", "/r/2", "/r/3"]


# --- HTTP errors and timeouts ---------------------------------------------------------


@pytest.mark.parametrize("status", [403, 404, 410, 429, 500, 503])
def test_error_statuses_raise_with_the_status(status: int) -> None:
    with (
        fetcher_for(lambda request: httpx.Response(status)) as fetcher,
        pytest.raises(HTTPStatusError) as caught,
    ):
        fetcher.fetch(spec(), Validators())
    assert caught.value.status == status
    assert caught.value.url == "https://feeds.example.org/feed.xml"
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("error", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.PoolTimeout])
def test_transport_timeouts_become_timeout_errors(error: type[httpx.TimeoutException]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("too slow", request=request)

    with fetcher_for(handler) as fetcher, pytest.raises(TimeoutError_) as caught:
        fetcher.fetch(spec(), Validators())
    assert isinstance(caught.value.__cause__, error)
    assert isinstance(caught.value, FeedError)


def test_connection_errors_are_fetch_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        fetcher_for(handler) as fetcher,
        pytest.raises(FetchError, match="request failed") as caught,
    ):
        fetcher.fetch(spec(), Validators())
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_post_json_sends_the_payload_and_merges_params() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    with fetcher_for(handler) as fetcher:
        result = fetcher.post_json(
            "https://api.example.org/v2/reports", {"limit": 5}, params={"appname": "x"}
        )
    assert result.body == b'{"data":[]}'
    assert seen[0].method == "POST"
    assert seen[0].url.params["appname"] == "x"
    assert seen[0].headers["content-type"] == "application/json"
    assert seen[0].content == b'{"limit":5}'


# --- real loopback server -------------------------------------------------------------


def test_real_server_round_trip(loopback: LoopbackServer) -> None:
    def feed(handler: BaseHTTPRequestHandler, stop: Event) -> None:
        body = gzip.compress(FEED)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    loopback.routes["/feed"] = feed
    with Fetcher(LOCAL) as fetcher:
        result = fetcher.fetch(spec(loopback.url("/feed")), Validators())
    assert isinstance(result, Fetched)
    assert result.body == FEED
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"


def test_slow_drip_body_hits_the_total_deadline(loopback: LoopbackServer) -> None:
    def slow(handler: BaseHTTPRequestHandler, stop: Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        drip(handler, stop, b"x" * 1000, every=0.2)

    loopback.routes["/slow"] = slow
    started = time.monotonic()
    with (
        Fetcher(FetchOptions(allow_private=True, read_timeout=5, deadline=1.0)) as fetcher,
        pytest.raises(TimeoutError_, match="deadline"),
    ):
        fetcher.fetch(spec(loopback.url("/slow")), Validators())
    assert time.monotonic() - started < 3


def test_slow_drip_headers_hit_the_total_deadline(loopback: LoopbackServer) -> None:
    def slow_headers(handler: BaseHTTPRequestHandler, stop: Event) -> None:
        drip(handler, stop, b"HTTP/1.1 200 OK\r\nX-Padding: " + b"y" * 500, every=0.2)

    loopback.routes["/slow-headers"] = slow_headers
    started = time.monotonic()
    with (
        Fetcher(FetchOptions(allow_private=True, read_timeout=5, deadline=1.0)) as fetcher,
        pytest.raises(TimeoutError_, match="deadline"),
    ):
        fetcher.fetch(spec(loopback.url("/slow-headers")), Validators())
    assert time.monotonic() - started < 3


def test_pre_read_mock_responses_work_too() -> None:
    """Other test suites build MockTransport answers with `content=`; httpx pre-reads those."""
    body = gzip.compress(FEED)
    headers = {"Content-Encoding": "gzip"}
    with fetcher_for(lambda request: httpx.Response(200, content=body, headers=headers)) as f:
        result = f.fetch(spec(), Validators())
    assert isinstance(result, Fetched) and result.body == FEED
