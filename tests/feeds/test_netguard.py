"""SSRF guard: non-public targets are refused, directly, after DNS, via redirects, at connect."""

from __future__ import annotations

from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from threading import Event

import httpx
import pytest

from feeds.errors import BlockedAddressError, FetchError
from feeds.fetch import Fetcher, FetchOptions
from feeds.model import Validators
from feeds.netguard import Resolver, check_public_url, is_public_address
from tests.feeds.conftest import LoopbackServer, spec

PUBLIC_IP = "93.184.216.34"
GUARDED = FetchOptions()  # allow_private=False, the production default


def fake_dns(table: dict[str, Sequence[str]]) -> Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://127.1.2.3:8080/feed",
        "http://localhost/feed",  # resolved for real: loopback needs no network
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 written as one number
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://[::ffff:a9fe:a9fe]/",  # IPv4-mapped 169.254.169.254
        "http://[2002:c0a8:0101::1]/",  # 6to4 wrapping 192.168.1.1
        "http://[64:ff9b::a00:1]/",  # NAT64 wrapping 10.0.0.1
    ],
)
def test_non_public_targets_are_blocked(url: str) -> None:
    with pytest.raises(BlockedAddressError) as caught:
        check_public_url(url)
    assert caught.value.url == url


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x/", "//no-scheme/"]
)
def test_only_http_and_https_are_allowed(url: str) -> None:
    with pytest.raises(BlockedAddressError, match=r"only http and https|no host"):
        check_public_url(url)


def test_public_hosts_pass_and_mixed_answers_are_blocked() -> None:
    resolver = fake_dns(
        {"feeds.example.org": [PUBLIC_IP], "rebind.example.org": [PUBLIC_IP, "10.1.2.3"]}
    )
    check_public_url("https://feeds.example.org/rss", resolver=resolver)
    check_public_url("http://8.8.8.8/", resolver=resolver)
    with pytest.raises(BlockedAddressError, match=r"10\.1\.2\.3"):
        check_public_url("https://rebind.example.org/", resolver=resolver)


def test_unresolvable_host_is_a_fetch_error_not_a_block() -> None:
    with pytest.raises(FetchError, match="cannot resolve") as caught:
        check_public_url("https://nowhere.invalid/", resolver=fake_dns({}))
    assert not isinstance(caught.value, BlockedAddressError)


def test_public_address_predicate() -> None:
    assert is_public_address(PUBLIC_IP)
    assert is_public_address("2606:4700:4700::1111")
    assert not is_public_address("fe80::1%eth0")
    assert not is_public_address("not an address")


def test_fetcher_refuses_loopback_before_sending_anything() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    with (
        Fetcher(GUARDED, transport=httpx.MockTransport(handler)) as fetcher,
        pytest.raises(BlockedAddressError),
    ):
        fetcher.fetch(spec("http://127.0.0.1:8080/feed"), Validators())
    assert requests == []


def test_redirect_to_a_private_address_is_blocked() -> None:
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    resolver = fake_dns({"feeds.example.org": [PUBLIC_IP]})
    transport = httpx.MockTransport(handler)
    with (
        Fetcher(GUARDED, transport=transport, resolver=resolver) as fetcher,
        pytest.raises(BlockedAddressError) as caught,
    ):
        fetcher.fetch(spec("https://feeds.example.org/feed"), Validators())
    assert requests == ["https://feeds.example.org/feed"]
    assert caught.value.url == "http://169.254.169.254/latest/meta-data/"


def test_dns_rebinding_is_caught_at_connect_time(loopback: LoopbackServer) -> None:
    """The guard's lookup says public, but the socket reaches 127.0.0.1: refused."""
    served: list[str] = []

    def feed(handler: BaseHTTPRequestHandler, stop: Event) -> None:
        served.append(handler.path)
        handler.send_response(200)
        handler.end_headers()

    loopback.routes["/feed"] = feed
    resolver = fake_dns({"localhost": [PUBLIC_IP]})  # the lie; httpx resolves for real
    with (
        Fetcher(GUARDED, resolver=resolver) as fetcher,
        pytest.raises(BlockedAddressError, match="connected to non-public address"),
    ):
        fetcher.fetch(spec(loopback.url("/feed", host="localhost")), Validators())
    assert served == []


def test_allow_private_reaches_loopback(loopback: LoopbackServer) -> None:
    def feed(handler: BaseHTTPRequestHandler, stop: Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    loopback.routes["/feed"] = feed
    with Fetcher(FetchOptions(allow_private=True)) as fetcher:
        result = fetcher.fetch(spec(loopback.url("/feed")), Validators())
    assert getattr(result, "body", None) == b"ok"


def test_redirect_to_a_file_url_is_blocked_even_when_private_is_allowed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "file:///etc/passwd"})

    with (
        Fetcher(FetchOptions(allow_private=True), transport=httpx.MockTransport(handler)) as f,
        pytest.raises(BlockedAddressError, match="only http and https"),
    ):
        f.fetch(spec("http://127.0.0.1/feed"), Validators())
