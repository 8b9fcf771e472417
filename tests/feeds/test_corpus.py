"""parse_feed over feedparser 6.0.14's own test corpus (~2,248 files in ../shared/corpus).

Every file: parse_feed either returns or raises ParseError, nothing else.
Files under wellformed/: the item count and titles agree with feedparser's own result on the
same bytes and headers, after the same text normalisation. Duplicate guids are collapsed by
design, so the expected count is the number of distinct ids (else links, else title + date).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feeds.errors import ParseError
from feeds.rss import TITLE_LIMIT, parse_feed
from feeds.text import collapse_whitespace, html_to_text, truncate
from tests.feeds.conftest import NOW, SHARED, spec

pytestmark = pytest.mark.corpus

CORPUS = SHARED / "corpus" / "feedparser-6.0.14" / "tests"
HEADER = re.compile(r"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
PASSED = ("content-type", "content-language", "content-location")
# Deliberate divergences from feedparser, each with its reason.
EXPECTED_PARSE_ERRORS = {
    # An external parameter entity (XHTML entity set) in the DOCTYPE: refused by our screen.
    "wellformed/rdf/doctype_contains_entity_decl.xml": "external entity 'HTMLlat1'",
}


def groups() -> list[str]:
    """Test groups: top-level folders, and wellformed/ split one level deeper."""
    if not CORPUS.is_dir():
        return ["(corpus missing)"]
    found: set[str] = set()
    for path in CORPUS.rglob("*"):
        if path.is_file():
            parts = path.relative_to(CORPUS).parts
            found.add(
                "/".join(parts[:2]) if parts[0] == "wellformed" and len(parts) > 2 else parts[0]
            )
    return sorted(found)


def headers_of(body: bytes) -> dict[str, str]:
    text = body[:8192].decode("utf-8", "ignore")
    found = {name.strip().lower(): value.strip() for name, value in HEADER.findall(text)}
    return {name: value for name, value in found.items() if name in PASSED}


def fp_title(entry: Any) -> str:
    detail = entry.get("title_detail") or {}
    raw = str(entry.get("title") or "")
    text = collapse_whitespace(raw) if detail.get("type") == "text/plain" else html_to_text(raw)
    return truncate(text, TITLE_LIMIT)


def distinct(entries: list[Any]) -> list[Any]:
    seen: set[object] = set()
    kept = []
    for entry in entries:
        date = entry.get("published_parsed") or entry.get("updated_parsed")
        key = entry.get("id") or entry.get("link") or (fp_title(entry), date and tuple(date[:6]))
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept


def check(path: Path) -> str | None:
    """None when `path` behaves; otherwise a one-line description of what went wrong."""
    name = path.relative_to(CORPUS).as_posix()
    body = path.read_bytes()
    headers = headers_of(body)
    try:
        parsed = parse_feed(spec(f"http://127.0.0.1:8097/{name}"), body, headers, now=NOW)
    except ParseError as exc:
        expected = EXPECTED_PARSE_ERRORS.get(name)
        if expected is not None:
            return None if expected in str(exc) else f"{name}: wrong ParseError {exc}"
        return f"{name}: ParseError on a well-formed feed: {exc}" if "wellformed" in name else None
    except Exception as exc:  # the point of the test: report every unhandled error
        return f"{name}: unhandled {exc!r}"
    if name in EXPECTED_PARSE_ERRORS:
        return f"{name}: expected ParseError, got {len(parsed.items)} items"
    if not name.startswith("wellformed/"):
        return None
    result = feedparser.parse(io.BytesIO(body), response_headers=headers)
    entries = distinct(list(result.entries))
    if len(entries) != len(parsed.items):
        return f"{name}: {len(parsed.items)} items, feedparser has {len(entries)} distinct"
    for entry, item in zip(entries, parsed.items, strict=True):
        expected_title = fp_title(entry)
        if expected_title and item.title != expected_title:
            return f"{name}: title {item.title!r} != {expected_title!r}"
    return None


@pytest.mark.parametrize("group", groups())
def test_corpus_group(group: str) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared corpus not available")
    files = sorted(path for path in (CORPUS / group).rglob("*") if path.is_file())
    assert files, group
    failures = [failure for path in files if (failure := check(path)) is not None]
    assert not failures, f"{len(failures)} of {len(files)} files:\n" + "\n".join(failures)


def test_corpus_is_complete() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared corpus not available")
    counts: defaultdict[str, int] = defaultdict(int)
    for path in CORPUS.rglob("*"):
        if path.is_file():
            counts[path.suffix] += 1
    assert sum(counts.values()) >= 2_200, dict(counts)
