"""HTML → text, URL canonicalisation, stable guids, language tags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.text import canonical_url, html_to_text, normalise_language, stable_guid, truncate


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>One</p><p>Two</p>", "One Two"),
        ("Tom &amp; Jerry &eacute;t&eacute; &#8220;q&#8221;", "Tom & Jerry été “q”"),
        ("<b>bold</b>face", "boldface"),  # inline tags do not split words
        ("a<br>b<br/>c", "a b c"),
        ("<script>alert('x')</script>visible<style>p{color:red}</style>", "visible"),
        ("<!-- hidden -->shown", "shown"),
        ("  lots \n\t of   space ", "lots of space"),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
        ("https://example.org/report.html", "https://example.org/report.html"),
        ("", ""),
        ("5 &lt; 6", "5 < 6"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_html_to_text_limits_length_at_a_word_boundary() -> None:
    text = html_to_text("<p>" + "word " * 100 + "</p>", limit=50)
    assert len(text) <= 50
    assert text.endswith("…")
    assert "wor…" not in text


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    assert len(truncate(text, limit)) <= limit


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.ORG/Path?b=2&a=1#frag", "https://example.org/Path?a=1&b=2"),
        (
            "https://example.org/x?utm_source=rss&utm_medium=feed&id=3&fbclid=1&gclid=2",
            "https://example.org/x?id=3",
        ),
        ("https://example.org/x?mc_cid=1&mc_eid=2&ref=tw&keep=1", "https://example.org/x?keep=1"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/?empty=&a=1", "https://example.org/?a=1&empty="),
        ("  https://example.org/a  ", "https://example.org/a"),
        ("mailto:desk@example.org", "mailto:desk@example.org"),
        ("/relative/path", "/relative/path"),
        ("http://[::1]:8080/x#y", "http://[::1]:8080/x"),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, canonical: str | None) -> None:
    assert canonical_url(url) == canonical


def test_stable_guid_prefers_guid_then_link_then_hash() -> None:
    when = datetime(2024, 1, 2, tzinfo=UTC)
    assert stable_guid(" g-1 ", "https://x.org/a", "t", when) == "g-1"
    assert stable_guid(None, "HTTPS://X.org/a?utm_source=z", "t", when) == "https://x.org/a"
    hashed = stable_guid("", None, "Title", when)
    assert hashed.startswith("sha256:")
    assert hashed == stable_guid(None, "", "Title", when)
    assert hashed != stable_guid(None, None, "Title", None)
    assert hashed != stable_guid(None, None, "Other", when)


@pytest.mark.parametrize(
    ("tag", "language"),
    [("en-US", "en"), ("EN", "en"), ("pt_BR", "pt"), ("fr", "fr"), ("ast", "ast"),
     ("", None), (None, None), ("english", None), ("12", None)],
)  # fmt: skip
def test_normalise_language(tag: str | None, language: str | None) -> None:
    assert normalise_language(tag) == language
