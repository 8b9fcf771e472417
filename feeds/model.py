"""Frozen dataclasses that cross the boundary between `feeds/` and the application."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FeedKind = Literal["rss", "reliefweb"]


@dataclass(frozen=True, kw_only=True)
class FeedSpec:
    """What to fetch. `url` is the feed URL (rss) or the API base URL (reliefweb)."""

    name: str
    kind: FeedKind
    url: str
    language: str | None = None
    region: str | None = None
    tier: int = 2
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Validators:
    """Conditional-GET state remembered between polls of one feed."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """A successful response: the decoded body and what is needed to parse it."""

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str]
    body_hash: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, kw_only=True)
class NotModified:
    """Nothing new: the server said 304, or the body hash is unchanged."""

    url: str
    reason: Literal["304", "same-body"]
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, kw_only=True)
class Item:
    """One normalised entry from any source.

    `guid` is stable per feed (guid, else link, else a hash of title + date).
    `published` is timezone-aware UTC (the fetch time when the source gives none).
    `countries` are ISO 3166-1 alpha-3 codes carried by the source itself
    (ReliefWeb country/primary_country, GDACS iso3), upper case.
    """

    feed: str
    guid: str
    title: str
    summary: str = ""
    url: str | None = None
    published: datetime
    language: str | None = None
    source: str = ""
    countries: tuple[str, ...] = ()
    primary_country: str | None = None
    tags: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)
