"""parse_feed: golden fixtures, hostile XML, error pages, real GDACS and ReliefWeb feeds."""

from __future__ import annotations

import io
import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feeds.errors import ParseError
from feeds.model import Item
from feeds.rss import ParsedFeed, parse_feed
from tests.feeds.conftest import DATA, NOW, spec

GOLDEN = sorted(path for path in (DATA / "rss").iterdir() if path.suffix != ".json")
HOSTILE = DATA / "hostile"


def as_json(item: Item) -> dict[str, Any]:
    return {
        "guid": item.guid,
        "title": item.title,
        "summary": item.summary,
        "url": item.url,
        "published": item.published.isoformat(),
        "language": item.language,
        "source": item.source,
        "countries": list(item.countries),
        "primary_country": item.primary_country,
        "tags": list(item.tags),
        "extra": dict(item.extra),
    }


@pytest.mark.parametrize("path", GOLDEN, ids=[path.name for path in GOLDEN])
def test_golden(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    feed_spec = spec(f"https://feeds.example.org/{path.stem}", name="golden", language="en")
    parsed = parse_feed(feed_spec, path.read_bytes(), expected["headers"], now=NOW)
    assert {"title": parsed.title, "version": parsed.version, "warning": parsed.warning} == (
        expected["feed"]
    )
    assert [as_json(item) for item in parsed.items] == expected["items"]
    for item in parsed.items:
        assert item.published.utcoffset() is not None
        assert item.published <= NOW


def test_spec_language_is_the_last_fallback() -> None:
    body = (DATA / "rss" / "cp1252.xml").read_bytes()  # declares no language
    parsed = parse_feed(spec(language="pt-BR"), body, {}, now=NOW)
    assert parsed.items[0].language == "pt"
    assert parse_feed(spec(), body, {}, now=NOW).items[0].language is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_feed(spec(), b"<rss/>", {}, now=NOW.replace(tzinfo=None))


# --- not feeds ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \n\t "])
def test_empty_body(body: bytes) -> None:
    with pytest.raises(ParseError, match="empty body") as caught:
        parse_feed(spec(), body, {}, now=NOW)
    assert caught.value.url == "https://feeds.example.org/feed.xml"


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/rss+xml"])
def test_html_error_page_is_a_parse_error(content_type: str) -> None:
    body = (HOSTILE / "html_error_page.html").read_bytes()
    with pytest.raises(ParseError, match="an HTML page, not a feed"):
        parse_feed(spec(), body, {"Content-Type": content_type}, now=NOW)


@pytest.mark.parametrize(
    "body",
    [(HOSTILE / "not_a_feed.xml").read_bytes(), b'{"error": "not found"}', b"plain words"],
    ids=["config-xml", "json", "text"],
)
def test_non_feed_documents_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        parse_feed(spec(), body, {"Content-Type": "application/xml"}, now=NOW)


def test_a_body_that_looks_like_a_path_is_never_opened() -> None:
    """feedparser.parse(bytes) tries open(bytes) first; parse_feed must not let it."""
    with pytest.raises(ParseError):
        parse_feed(spec(), b"/etc/passwd", {}, now=NOW)


def test_bozo_feed_with_entries_is_kept_with_its_warning() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & co</title>'
        b"<item><title>Still here</title><guid>1</guid></item></channel></rss>"
    )
    parsed = parse_feed(spec(), body, {"Content-Type": "application/rss+xml"}, now=NOW)
    assert [item.title for item in parsed.items] == ["Still here"]
    assert parsed.warning


def test_an_empty_but_valid_feed_has_no_items() -> None:
    body = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    parsed = parse_feed(spec(), body, {}, now=NOW)
    assert parsed == ParsedFeed(items=(), title="Quiet", warning=None, version="rss20")


# --- hostile XML ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("billion_laughs.xml", "expansion bomb"),
        ("billion_laughs_one_line.xml", "expansion bomb"),
        ("xxe_file.xml", "external entity 'xxe'"),
        ("xxe_parameter.xml", "external entity 'remote'"),
    ],
)
def test_hostile_doctypes_are_refused(name: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(spec(), (HOSTILE / name).read_bytes(), {}, now=NOW)


def test_hostile_doctype_in_utf16_is_refused_too() -> None:
    body = (HOSTILE / "xxe_file.xml").read_text(encoding="utf-8")
    encoded = body.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    with pytest.raises(ParseError, match="external entity"):
        parse_feed(spec(), encoded, {}, now=NOW)


def test_literal_entities_are_harmless_and_expanded() -> None:
    parsed = parse_feed(spec(), (HOSTILE / "literal_entity.xml").read_bytes(), {}, now=NOW)
    assert [item.title for item in parsed.items] == ["From Example Partners"]


@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe_file.xml"])
def test_feedparser_alone_keeps_entities_inert(name: str) -> None:
    """Canary for upgrades: even without our screen, feedparser 6 neither expands nor reads."""
    result = feedparser.parse(io.BytesIO((HOSTILE / name).read_bytes()))
    text = json.dumps([entry.get("title", "") for entry in result.entries])
    assert "root:" not in text  # /etc/passwd was not read
    assert len(text) < 1000  # nothing was expanded


# --- process pool ---------------------------------------------------------------------


def test_results_and_errors_survive_a_process_pool() -> None:
    body = (DATA / "rss" / "rss20.xml").read_bytes()
    with ProcessPoolExecutor(max_workers=1) as pool:
        parsed = pool.submit(parse_feed, spec(), body, {}, now=NOW).result()
        failed = pool.submit(parse_feed, spec(), b"<html><body>x</body></html>", {}, now=NOW)
        with pytest.raises(ParseError, match="HTML page") as caught:
            failed.result()
    assert parsed == parse_feed(spec(), body, {}, now=NOW)
    assert caught.value.url == "https://feeds.example.org/feed.xml"
    assert pickle.loads(pickle.dumps(parsed)) == parsed


# --- real feeds from the shared corpus ------------------------------------------------


def test_gdacs_iso3_becomes_countries(corpus: Path) -> None:
    samples = corpus / "reliefweb" / "gdacs" / "samples"
    gdacs = spec("https://www.gdacs.org/xml/rss.xml", name="gdacs", language="en")
    parsed = parse_feed(gdacs, (samples / "gdacs-rss.xml").read_bytes(), {}, now=NOW)
    assert len(parsed.items) == 16
    first = parsed.items[0]
    assert first.guid == "TC1000643"
    assert first.countries == ("MUS",) and first.primary_country == "MUS"
    assert first.extra["gdacs:alertlevel"] == "Green"
    assert first.extra["gdacs:eventtype"] == "TC"
    assert first.language == "en"
    week = parse_feed(gdacs, (samples / "gdacs-rss-7d.xml").read_bytes(), {}, now=NOW)
    with_codes = [item for item in week.items if item.countries]
    assert len(with_codes) > 0.8 * len(week.items)
    assert all(len(code) == 3 and code.isupper() for i in with_codes for code in i.countries)


def test_gdacs_multi_country_lists_are_split() -> None:
    body = (
        b'<rss version="2.0" xmlns:gdacs="http://www.gdacs.org"><channel><title>g</title>'
        b"<item><title>Flood</title><guid>FL1</guid><gdacs:iso3>SDN, SSD ETH</gdacs:iso3>"
        b"</item></channel></rss>"
    )
    item = parse_feed(spec(), body, {}, now=NOW).items[0]
    assert item.countries == ("SDN", "SSD", "ETH")
    assert item.primary_country is None


def test_reliefweb_rss_country_categories_become_countries(corpus: Path) -> None:
    path = (
        corpus / "reliefweb" / "the-deep" / "reliefweb_rss_updates_country-ukr_2020-09-17_full.xml"
    )
    rw = spec("https://reliefweb.int/updates/rss.xml", name="reliefweb-rss")
    parsed = parse_feed(rw, path.read_bytes(), {"Content-Type": "application/rss+xml"}, now=NOW)
    assert len(parsed.items) == 20
    assert all(item.countries == ("UKR",) for item in parsed.items)
    first = parsed.items[0]
    assert first.title == "Ukraine: DRC / DDG Legal Alert: Issue 55 - August 2020 [EN/RU/UK]"
    assert "Health" in first.tags and "Ukraine" in first.tags
    assert first.language == "en"
    assert first.source == "ReliefWeb - Updates"
    assert first.published.isoformat() == "2020-09-17T07:24:25+00:00"
    assert len(first.summary) <= 2000
