"""ReliefWeb API v2: one paginated query per poll for new reports → `Item`s.

The API wants `POST {base_url}/v2/reports?appname=…` (the appname must be approved by
ReliefWeb and comes from the caller, e.g. the RELIEFWEB_APPNAME environment variable) and
allows about 1,000 calls a day, which `CallBudget` accounts for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from feeds.errors import BudgetExhaustedError, ParseError
from feeds.fetch import Fetcher
from feeds.model import Item
from feeds.text import canonical_url, collapse_whitespace, html_to_text

__all__ = [
    "FIELDS",
    "Budget",
    "CallBudget",
    "ReliefWebResult",
    "ReportsPage",
    "build_query",
    "fetch_reports",
    "parse_page",
    "parse_reports",
]

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
SUMMARY_LIMIT = 2000
FIELDS = (
    "title", "url", "url_alias", "body-html", "date.created", "date.original",
    "source.name", "source.shortname", "country.iso3", "primary_country.iso3",
    "theme.name", "disaster_type.name", "language.code", "format.name",
)  # fmt: skip


class Budget(Protocol):
    """What `fetch_reports` needs from a call allowance."""

    def calls_allowed(self) -> int:
        """How many calls may still be made now."""
        ...

    def spend(self, calls: int = 1) -> None:
        """Record calls made."""
        ...


@dataclass(kw_only=True)
class CallBudget:
    """Today's allowance: `limit` calls, `used` so far. The application persists `used` per
    UTC day and builds a fresh one for each poll."""

    limit: int
    used: int = 0

    def calls_allowed(self) -> int:
        return max(self.limit - self.used, 0)

    def spend(self, calls: int = 1) -> None:
        self.used += calls


@dataclass(frozen=True, kw_only=True)
class ReportsPage:
    items: tuple[Item, ...]
    raw_count: int  # entries in the answer, including skipped ones (drives pagination)
    skipped: int  # entries without id or title


@dataclass(frozen=True, kw_only=True)
class ReliefWebResult:
    """Items in `date.created` order. `high_water` is the newest `date.created` seen, as
    ISO 8601 UTC (or the starting point when nothing came): pass it back as `since` next poll.
    `complete` is False when the page cap or the budget cut the poll short."""

    items: tuple[Item, ...]
    high_water: str
    calls: int
    skipped: int = 0
    complete: bool = True


def build_query(
    *,
    since: datetime,
    countries: Sequence[str] = (),
    page_size: int = 100,
    offset: int = 0,
    extra_filter: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body for one page: created at or after `since`, optionally in any of
    `countries` (ISO3), oldest first with the id as tie-break."""
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    conditions: list[dict[str, Any]] = [
        {"field": "date.created", "value": {"from": _iso(since)}},
    ]
    codes = sorted({code.strip().upper() for code in countries if code.strip()})
    if codes:
        conditions.append({"field": "country.iso3", "value": codes, "operator": "OR"})
    if extra_filter:
        conditions.append(dict(extra_filter))
    return {
        "fields": {"include": list(FIELDS)},
        "filter": {"operator": "AND", "conditions": conditions},
        "sort": ["date.created:asc", "id:asc"],
        "limit": page_size,
        "offset": offset,
    }


def fetch_reports(
    fetcher: Fetcher,
    *,
    base_url: str,
    appname: str,
    since: datetime | str | None,
    budget: Budget,
    now: datetime,
    countries: Sequence[str] = (),
    page_size: int = 100,
    max_pages: int = 10,
    extra_filter: Mapping[str, Any] | None = None,
    feed_name: str = "reliefweb",
    initial_lookback: timedelta = timedelta(days=1),
) -> ReliefWebResult:
    """Page through reports created since `since` (inclusive: the store dedupes on guid).

    `since` is the previous `high_water` (ISO 8601 string or aware datetime); None on the
    first poll means `now - initial_lookback`, never the whole archive.

    Raises `BudgetExhaustedError` when no call is allowed at all; if the budget runs out
    mid-way, returns what was fetched with `complete=False`. Fetch errors propagate.
    """
    if not appname:
        raise ValueError("appname is required (ReliefWeb API v2 only answers approved names)")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    url = f"{base_url.rstrip('/')}/v2/reports"
    start = _start(since, now=now, lookback=initial_lookback)
    if budget.calls_allowed() <= 0:
        raise BudgetExhaustedError("ReliefWeb daily call budget is spent", url=url)
    items: list[Item] = []
    skipped = calls = 0
    complete = True
    for page_number in range(max_pages):
        if budget.calls_allowed() <= 0:
            logger.warning("ReliefWeb budget ran out after %d calls; resuming next poll", calls)
            complete = False
            break
        query = build_query(
            since=start,
            countries=countries,
            page_size=page_size,
            offset=page_number * page_size,
            extra_filter=extra_filter,
        )
        budget.spend()
        calls += 1
        answer = fetcher.post_json(url, query, params={"appname": appname})
        page = parse_page(answer.body, feed_name=feed_name, now=now, url=url)
        items.extend(page.items)
        skipped += page.skipped
        if page.raw_count < page_size:
            break
    else:
        complete = False
    return ReliefWebResult(
        items=tuple(items),
        high_water=_iso(_high_water(items, start)),
        calls=calls,
        skipped=skipped,
        complete=complete,
    )


def parse_reports(body: bytes, *, feed_name: str, now: datetime) -> list[Item]:
    """Items of one API answer (entries without id or title are skipped and logged)."""
    return list(parse_page(body, feed_name=feed_name, now=now).items)


def parse_page(
    body: bytes, *, feed_name: str, now: datetime, url: str = "reliefweb"
) -> ReportsPage:
    """Parse one API answer. Malformed JSON or a wrong shape raises `ParseError`."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"malformed JSON from ReliefWeb: {exc}", url=url) from exc
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise ParseError("ReliefWeb answer has no 'data' list", url=url)
    items: list[Item] = []
    skipped = 0
    for entry in document["data"]:
        if not isinstance(entry, dict):
            raise ParseError("ReliefWeb 'data' holds a non-object entry", url=url)
        item = _item(entry, feed_name=feed_name, now=now)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    if skipped:
        logger.warning("ReliefWeb: skipped %d report(s) without id or title", skipped)
    return ReportsPage(items=tuple(items), raw_count=len(document["data"]), skipped=skipped)


def _item(entry: Mapping[str, Any], *, feed_name: str, now: datetime) -> Item | None:
    fields = entry.get("fields")
    if not isinstance(fields, dict) or entry.get("id") in (None, ""):
        return None
    title = collapse_whitespace(str(fields.get("title") or ""))
    if not title:
        return None
    raw_dates = fields.get("date")
    dates: Mapping[str, Any] = raw_dates if isinstance(raw_dates, dict) else {}
    created = _parse_date(dates.get("created"))
    published = _parse_date(dates.get("original")) or created or now
    countries = _names(fields.get("country"), "iso3", upper=True)
    primary = _names([fields.get("primary_country")], "iso3", upper=True)
    sources = _names(fields.get("source"), "shortname") or _names(fields.get("source"), "name")
    languages = _names(fields.get("language"), "code")
    extra = {"date_created": created.isoformat()} if created else {}
    body = str(fields.get("body-html") or fields.get("body") or "")
    url = str(fields.get("url_alias") or fields.get("url") or "")
    return Item(
        feed=feed_name,
        guid=str(entry["id"]),
        title=title,
        summary=html_to_text(body, limit=SUMMARY_LIMIT),
        url=canonical_url(url or None),
        published=min(published, now),
        language=languages[0].lower() if languages else None,
        source=", ".join(sources),
        countries=tuple(dict.fromkeys(primary + countries)),
        primary_country=primary[0] if primary else None,
        tags=tuple(
            dict.fromkeys(
                _names(fields.get("theme"), "name")
                + _names(fields.get("disaster_type"), "name")
                + _names(fields.get("format"), "name")
            )
        ),
        extra=extra,
    )


def _names(values: object, key: str, *, upper: bool = False) -> tuple[str, ...]:
    """`key` of every object in a ReliefWeb list field, tolerating absent or odd shapes."""
    if isinstance(values, dict):
        values = [values]
    if not isinstance(values, list):
        return ()
    found = []
    for value in values:
        if isinstance(value, dict) and value.get(key):
            text = collapse_whitespace(str(value[key]))
            found.append(text.upper() if upper else text)
    return tuple(found)


def _parse_date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _high_water(items: Sequence[Item], since: datetime) -> datetime:
    created = [_parse_date(item.extra.get("date_created")) for item in items]
    return max([since.astimezone(UTC), *(stamp for stamp in created if stamp is not None)])


def _start(since: datetime | str | None, *, now: datetime, lookback: timedelta) -> datetime:
    if since is None:
        return now.astimezone(UTC) - lookback
    if isinstance(since, str):
        parsed = _parse_date(since)
        if parsed is None:
            raise ValueError(f"since is not an ISO 8601 date: {since!r}")
        return parsed
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    return since.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
