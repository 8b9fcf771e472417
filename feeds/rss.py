"""feedparser adapter: feed bytes + response headers → `ParsedFeed` of normalised `Item`s."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from feeds.countries import iso3_codes, to_iso3
from feeds.errors import FeedError, ParseError
from feeds.model import FeedSpec, Item
from feeds.text import (
    canonical_url,
    collapse_whitespace,
    html_to_text,
    normalise_language,
    stable_guid,
    truncate,
)
from feeds.xmlguard import screen_doctype

__all__ = ["ParsedFeed", "parse_feed"]

logger = logging.getLogger(__name__)

TITLE_LIMIT = 500
SUMMARY_LIMIT = 2000
FALLBACK_TITLE_LIMIT = 120
_PASSED_HEADERS = ("content-type", "content-language", "content-location")
_GDACS_EXTRA = ("alertlevel", "eventtype", "eventid", "episodeid", "eventname", "country")
_CHANNEL_KEYS = frozenset(
    {"title", "subtitle", "link", "links", "id", "updated", "published", "language", "author"}
)
_HTML_PAGE = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class ParsedFeed:
    """What one feed document holds. `warning` is feedparser's bozo message, if any."""

    items: tuple[Item, ...]
    title: str = ""
    warning: str | None = None
    version: str = ""  # feedparser's name for the format: "rss20", "atom10", "rss10", …


def parse_feed(
    spec: FeedSpec,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: datetime,
    base_url: str | None = None,
) -> ParsedFeed:
    """Parse one fetched feed document. Never touches the network or the file system.

    `headers` are the HTTP response headers (Content-Type carries the charset);
    relative links resolve against `Content-Location`, else `base_url`, else `spec.url`.
    Raises `ParseError` for empty bodies, HTML pages, non-feed XML and hostile DOCTYPEs.
    Top-level and picklable, so it can run in a `ProcessPoolExecutor`.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not body or body.isspace():
        raise ParseError("empty body", url=spec.url)
    screen_doctype(body, url=spec.url)
    response_headers = _response_headers(headers)
    try:
        # A file object, never bytes or str: feedparser treats those as paths or URLs first.
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            sanitize_html=True,
            resolve_relative_uris=True,
        )
    except Exception as exc:  # a feedparser crash on hostile input is a property of the feed
        raise ParseError(f"feedparser failed: {exc!r}", url=spec.url) from exc
    version = str(result.get("version") or "")
    entries = result.get("entries") or []
    feed = result.get("feed") or {}
    if not entries and not _is_feed(result, version, feed, response_headers, body):
        raise ParseError(_not_a_feed(result, response_headers, body), url=spec.url)
    base = response_headers.get("content-location") or base_url or spec.url
    feed_language = normalise_language(feed.get("language")) or normalise_language(spec.language)
    items: list[Item] = []
    seen: set[str] = set()
    for entry in entries:
        item = _item(entry, spec=spec, base_url=base, feed_language=feed_language, now=now)
        if item.guid not in seen:
            seen.add(item.guid)
            items.append(item)
    warning = str(result.get("bozo_exception")) if result.get("bozo") else None
    return ParsedFeed(
        items=tuple(items),
        title=_text(feed.get("title_detail"), feed.get("title")),
        warning=warning,
        version=version,
    )


def _response_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # No invented Content-Location: feedparser would also resolve relative Atom ids against
    # it, and a guid must not change when a feed moves. Links are made absolute in `_item`.
    lowered = {key.lower(): value for key, value in headers.items()}
    return {key: lowered[key] for key in _PASSED_HEADERS if key in lowered}


def _is_feed(
    result: Mapping[str, Any],
    version: str,
    feed: Mapping[str, Any],
    headers: Mapping[str, str],
    body: bytes,
) -> bool:
    """Whether an entry-less answer is an (empty) feed rather than an error page or junk."""
    if version:
        return True
    if result.get("bozo") or _looks_like_html(headers, body):
        return False
    # feedparser files unknown elements (and stray HTML text) under arbitrary keys; an
    # entry-less document is a feed only if its root carried channel metadata.
    return not _CHANNEL_KEYS.isdisjoint(feed)


def _looks_like_html(headers: Mapping[str, str], body: bytes) -> bool:
    content_type = headers.get("content-type", "").lower()
    return "html" in content_type or _HTML_PAGE.search(body[:4096]) is not None


def _not_a_feed(result: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> str:
    content_type = headers.get("content-type", "")
    if _looks_like_html(headers, body):
        return f"an HTML page, not a feed (Content-Type: {content_type or 'none'})"
    reason = result.get("bozo_exception")
    detail = f": {reason}" if reason else ""
    return f"not an RSS or Atom feed (Content-Type: {content_type or 'none'}){detail}"


def _item(
    entry: Mapping[str, Any],
    *,
    spec: FeedSpec,
    base_url: str,
    feed_language: str | None,
    now: datetime,
) -> Item:
    title = truncate(_text(entry.get("title_detail"), entry.get("title")), TITLE_LIMIT)
    summary = html_to_text(_summary_markup(entry), limit=SUMMARY_LIMIT)
    if not title:
        title = truncate(summary, FALLBACK_TITLE_LIMIT) or "(untitled)"
    source_date = _source_date(entry)
    published = min(source_date, now) if source_date is not None else now
    countries = _countries(entry)
    source = entry.get("source") or {}
    link = _link(entry, base_url)
    return Item(
        feed=spec.name,
        guid=stable_guid(entry.get("id"), link, title, source_date),
        title=title,
        summary=summary,
        url=canonical_url(link),
        published=published,
        language=_language(entry) or feed_language,
        source=collapse_whitespace(str(source.get("title") or "")) or spec.name,
        countries=countries,
        primary_country=countries[0] if len(countries) == 1 else None,
        tags=_tags(entry),
        extra=_extra(entry),
    )


def _link(entry: Mapping[str, Any], base_url: str) -> str | None:
    """The entry's absolute http(s) link. feedparser copies a guid into `link` when there is
    no <link> ("guidislink"); such a guid counts only if it is already an absolute URL."""
    link = str(entry.get("link") or "").strip()
    if not link:
        return None
    try:
        if not (entry.get("guidislink") and not entry.get("links")):
            link = urljoin(base_url, link)
        scheme = urlsplit(link).scheme.lower()
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return link if scheme in ("http", "https") else None


def _text(detail: Mapping[str, Any] | None, value: object) -> str:
    """Plain text of a feedparser text construct (HTML unless it says text/plain)."""
    text = str(value or "")
    if detail is not None and detail.get("type") == "text/plain":
        return collapse_whitespace(text)
    return html_to_text(text)


def _summary_markup(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary")
    if summary:
        return str(summary)
    for content in entry.get("content") or ():
        if content.get("value"):
            return str(content["value"])
    return ""


def _source_date(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed is None:
            continue
        try:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
    return None


def _language(entry: Mapping[str, Any]) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key)
        if detail is not None:
            language = normalise_language(detail.get("language"))
            if language:
                return language
    return None


def _tags(entry: Mapping[str, Any]) -> tuple[str, ...]:
    tags: list[str] = []
    for tag in entry.get("tags") or ():
        term = collapse_whitespace(str(tag.get("term") or tag.get("label") or ""))
        if term and term not in tags:
            tags.append(term)
    return tuple(tags)


def _countries(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """GDACS `gdacs:iso3` codes, then categories that name a country (ReliefWeb RSS)."""
    codes = list(iso3_codes(str(entry.get("gdacs_iso3") or "")))
    for tag in _tags(entry):
        code = to_iso3(tag)
        if code and code not in codes:
            codes.append(code)
    return tuple(codes)


def _extra(entry: Mapping[str, Any]) -> dict[str, str]:
    extra: dict[str, str] = {}
    for name in _GDACS_EXTRA:
        value = entry.get(f"gdacs_{name}")
        if isinstance(value, str) and value.strip():
            extra[f"gdacs:{name}"] = value.strip()
    author = entry.get("author")
    if isinstance(author, str) and author.strip():
        extra["author"] = collapse_whitespace(author)
    return extra


def parse_items(
    spec: FeedSpec, body: bytes, headers: Mapping[str, str], now: datetime
) -> list[Item] | FeedError:
    """`parse_feed` for a worker process: the items, or the feed's own error as a value.

    It lives here, not in `bot/`, so a worker imports only `feeds` and feedparser.
    """
    try:
        return list(parse_feed(spec, body, headers, now=now).items)
    except FeedError as exc:
        return exc
