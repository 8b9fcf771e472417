"""ReliefWeb API v2: request shape, pagination, high-water mark, budget, tolerant parsing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from feeds.errors import BudgetExhaustedError, HTTPStatusError, ParseError
from feeds.fetch import Fetcher
from feeds.reliefweb import (
    FIELDS,
    CallBudget,
    build_query,
    fetch_reports,
    parse_page,
    parse_reports,
)
from tests.feeds.conftest import DATA, LOCAL, NOW

BASE = "https://api.reliefweb.int"
SINCE = datetime(2024, 5, 30, 0, 0, tzinfo=UTC)
PAGE = (DATA / "reliefweb" / "reports_v2_page.json").read_bytes()


class FakeReliefWeb:
    """Serves `total` synthetic reports, honouring limit/offset; records every request."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.requests: list[httpx.Request] = []

    def bodies(self) -> Iterator[dict[str, Any]]:
        for request in self.requests:
            yield json.loads(request.content)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        query = json.loads(request.content)
        start, limit = query["offset"], query["limit"]
        ids = range(start, min(start + limit, self.total))
        return httpx.Response(
            200, json={"totalCount": self.total, "data": [report(i) for i in ids]}
        )


def report(number: int) -> dict[str, Any]:
    created = SINCE + timedelta(minutes=number)
    return {
        "id": str(5_000_000 + number),
        "fields": {
            "title": f"Report {number}",
            "url_alias": f"https://reliefweb.int/report/r-{number}",
            "date": {"created": created.isoformat(), "original": created.isoformat()},
            "country": [{"iso3": "ssd"}],
        },
    }


def run(
    fake: FakeReliefWeb,
    *,
    budget: CallBudget | None = None,
    since: datetime | str | None = SINCE,
    page_size: int = 10,
    max_pages: int = 10,
    countries: tuple[str, ...] = ("SSD", "sdn", "CAF"),
) -> Any:
    with Fetcher(LOCAL, transport=httpx.MockTransport(fake)) as fetcher:
        return fetch_reports(
            fetcher,
            base_url=BASE,
            appname="tocsin-test-app",
            countries=countries,
            since=since,
            budget=budget or CallBudget(limit=1000),
            page_size=page_size,
            max_pages=max_pages,
            now=NOW,
        )


def test_request_shape() -> None:
    fake = FakeReliefWeb(total=3)
    run(fake)
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/v2/reports"
    assert request.url.params["appname"] == "tocsin-test-app"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body == {
        "fields": {"include": list(FIELDS)},
        "filter": {
            "operator": "AND",
            "conditions": [
                {"field": "date.created", "value": {"from": "2024-05-30T00:00:00+00:00"}},
                {"field": "country.iso3", "value": ["CAF", "SDN", "SSD"], "operator": "OR"},
            ],
        },
        "sort": ["date.created:asc", "id:asc"],
        "limit": 10,
        "offset": 0,
    }
    for field in ("title", "url_alias", "date.created", "country.iso3", "primary_country.iso3"):
        assert field in body["fields"]["include"]


def test_query_without_countries_and_with_an_extra_filter() -> None:
    extra = {"field": "format.name", "value": "Situation Report"}
    query = build_query(since=SINCE, extra_filter=extra, page_size=5, offset=15)
    assert query["filter"]["conditions"][1:] == [extra]
    assert (query["limit"], query["offset"]) == (5, 15)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_query(since=SINCE.replace(tzinfo=None))


def test_pagination_over_three_pages_advances_the_high_water_mark() -> None:
    fake = FakeReliefWeb(total=25)
    result = run(fake, page_size=10)
    assert [body["offset"] for body in fake.bodies()] == [0, 10, 20]
    assert result.calls == 3 and result.complete
    assert [item.title for item in result.items] == [f"Report {n}" for n in range(25)]
    assert result.high_water == "2024-05-30T00:24:00+00:00"
    assert result.items[0].countries == ("SSD",)


def test_nothing_new_keeps_the_high_water_mark() -> None:
    result = run(FakeReliefWeb(total=0))
    assert result.items == () and result.calls == 1
    assert result.high_water == "2024-05-30T00:00:00+00:00"


@pytest.mark.parametrize(
    ("since", "expected_from"),
    [
        ("2024-05-30T06:30:00+00:00", "2024-05-30T06:30:00+00:00"),  # a stored high-water mark
        ("2024-05-30T08:30:00+02:00", "2024-05-30T06:30:00+00:00"),
        (None, "2024-05-31T12:00:00+00:00"),  # first poll: one day back, not the archive
    ],
)
def test_since_accepts_the_stored_mark_or_nothing(since: str | None, expected_from: str) -> None:
    fake = FakeReliefWeb(total=0)
    result = run(fake, since=since)
    condition = next(iter(fake.bodies()))["filter"]["conditions"][0]
    assert condition == {"field": "date.created", "value": {"from": expected_from}}
    assert result.high_water == expected_from


def test_page_cap_marks_the_result_incomplete() -> None:
    fake = FakeReliefWeb(total=100)
    result = run(fake, page_size=10, max_pages=2)
    assert result.calls == 2 and not result.complete
    assert result.high_water == "2024-05-30T00:19:00+00:00"


def test_exhausted_budget_raises_before_any_call() -> None:
    fake = FakeReliefWeb(total=5)
    with pytest.raises(BudgetExhaustedError, match="budget") as caught:
        run(fake, budget=CallBudget(limit=10, used=10))
    assert fake.requests == []
    assert caught.value.url == f"{BASE}/v2/reports"


def test_budget_running_out_mid_way_returns_what_was_fetched() -> None:
    budget = CallBudget(limit=2)
    result = run(FakeReliefWeb(total=50), budget=budget, page_size=10)
    assert result.calls == 2 and not result.complete and len(result.items) == 20
    assert budget.calls_allowed() == 0 and budget.used == 2


def test_http_errors_propagate_with_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": {"message": "appname not approved"}})

    budget = CallBudget(limit=5)
    with (
        Fetcher(LOCAL, transport=httpx.MockTransport(refuse)) as fetcher,
        pytest.raises(HTTPStatusError) as caught,
    ):
        fetch_reports(
            fetcher, base_url=BASE, appname="unapproved", since=SINCE, budget=budget, now=NOW
        )
    assert caught.value.status == 403


def test_appname_and_page_size_are_validated() -> None:
    with Fetcher(LOCAL, transport=httpx.MockTransport(FakeReliefWeb(0))) as fetcher:
        budget = CallBudget(limit=5)
        with pytest.raises(ValueError, match="appname"):
            fetch_reports(fetcher, base_url=BASE, appname="", since=SINCE, budget=budget, now=NOW)
        with pytest.raises(ValueError, match="page_size"):
            fetch_reports(
                fetcher, base_url=BASE, appname="a", since=SINCE, budget=budget, now=NOW,
                page_size=1001,
            )  # fmt: skip


# --- parsing --------------------------------------------------------------------------


def test_parse_fixture_page() -> None:
    page = parse_page(PAGE, feed_name="reliefweb", now=NOW)
    assert page.raw_count == 4 and page.skipped == 1
    full, plain, dated_later = page.items
    assert full.guid == "4100001"
    assert full.title == "Sudan: Protection of civilians in El Fasher - Flash Update No. 3"
    assert full.url == (
        "https://reliefweb.int/report/sudan/sudan-protection-civilians-el-fasher-flash-update-no-3"
    )
    assert full.summary == "Fighting intensified around El Fasher & nearby camps. Zamzam Abu Shouk"
    assert full.published == datetime(2024, 5, 30, tzinfo=UTC)
    assert full.extra["date_created"] == "2024-05-30T14:05:10+00:00"
    assert full.countries == ("SDN", "TCD") and full.primary_country == "SDN"
    assert full.source == "OCHA, UNHCR"
    assert full.language == "en"
    assert full.tags == (
        "Protection and Human Rights",
        "Shelter and Non-Food Items",
        "Complex Emergency",
        "Situation Report",
    )
    assert plain.guid == "4100003"  # numeric id
    assert plain.url == "https://reliefweb.int/node/4100003"  # no url_alias: url
    assert plain.published == NOW  # no date at all
    assert (
        plain.source == "Norwegian Refugee Council" and plain.summary == "Plain body text, no HTML."
    )
    assert plain.primary_country is None and plain.language is None
    assert dated_later.published == NOW  # a future original date is clamped
    assert dated_later.countries == ("CAF",) and dated_later.language == "en"
    assert parse_reports(PAGE, feed_name="reliefweb", now=NOW) == list(page.items)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (PAGE[: len(PAGE) // 2], "malformed JSON"),
        (b"", "malformed JSON"),
        (b"<html>503</html>", "malformed JSON"),
        (b"[]", "no 'data' list"),
        (b'{"data": {"id": 1}}', "no 'data' list"),
        (b'{"data": [1, 2]}', "non-object entry"),
        (b"[" * 100_000, "malformed JSON"),
    ],
    ids=["truncated", "empty", "html", "list", "data-object", "data-scalars", "deep-nesting"],
)
def test_malformed_answers_are_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_page(body, feed_name="reliefweb", now=NOW)


def test_entries_without_fields_or_id_are_skipped_not_fatal() -> None:
    body = json.dumps(
        {"data": [{"id": "1"}, {"fields": {"title": "no id"}}, {"id": "2", "fields": []}]}
    ).encode()
    page = parse_page(body, feed_name="reliefweb", now=NOW)
    assert page.items == () and page.skipped == 3 and page.raw_count == 3
