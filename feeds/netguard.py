"""SSRF guard: refuse URLs whose host is, or resolves to, a non-public address."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from feeds.errors import BlockedAddressError, FetchError

__all__ = ["Resolver", "check_public_url", "check_scheme", "is_public_address", "resolve_host"]

Resolver = Callable[[str, int], Sequence[str]]
"""host, port → the IP addresses a connection could reach (strings)."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ALLOWED_SCHEMES = {"http": 80, "https": 443}


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `socket.getaddrinfo` gives for `host` (the resolver httpx will use)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses.

    Loopback, private, link-local, CGNAT (100.64/10), reserved, unspecified and multicast are
    refused, including when wrapped in IPv6 (IPv4-mapped, 6to4, Teredo, NAT64).
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(str(embedded))
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_public_url(url: str, *, resolver: Resolver = resolve_host) -> None:
    """Raise `BlockedAddressError` unless `url` is http(s) and its host only reaches public
    addresses. Raise `FetchError` when the host cannot be resolved.

    Use it to validate feed URLs before storing them; `Fetcher` calls it on every hop.
    """
    host, port = _host_and_port(url)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            addresses = list(resolver(host, port))
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}", url=url) from exc
    else:
        addresses = [host]
    if not addresses:
        raise FetchError(f"host {host!r} resolves to no address", url=url)
    blocked = [address for address in addresses if not is_public_address(address)]
    if blocked:
        raise BlockedAddressError(f"host {host!r} reaches non-public address {blocked[0]}", url=url)


def check_scheme(url: str) -> None:
    """Raise `BlockedAddressError` unless `url` is an absolute http(s) URL with a host."""
    _host_and_port(url)


def _host_and_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedAddressError(f"malformed URL: {exc}", url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in _ALLOWED_SCHEMES:
        raise BlockedAddressError(f"only http and https URLs are allowed, not {scheme!r}", url=url)
    if not parts.hostname:
        raise BlockedAddressError("URL has no host", url=url)
    return parts.hostname, port or _ALLOWED_SCHEMES[scheme]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
