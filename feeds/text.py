"""Normalisation helpers: HTML → plain text, canonical URLs, stable guids, language tags."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Comment

__all__ = [
    "TRACKING_PARAMS",
    "canonical_url",
    "collapse_whitespace",
    "html_to_text",
    "normalise_language",
    "stable_guid",
    "truncate",
]

_WS = re.compile(r"\s+")
_DROPPED_TAGS = ("script", "style", "noscript", "template", "head", "title", "iframe", "object")
# Elements that separate words visually; text on either side must not run together.
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "mc_cid", "mc_eid", "igshid", "ref", "ref_src", "_hsenc", "_hsmi", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "vero_id", "spm",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$")


def collapse_whitespace(text: str) -> str:
    """Every run of whitespace becomes one space; ends are stripped."""
    return _WS.sub(" ", text).strip()


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def html_to_text(markup: str, *, limit: int | None = None) -> str:
    """Visible text of an HTML fragment: entities decoded, scripts dropped, whitespace collapsed."""
    if "<" not in markup:
        # No tags: only entities to decode (and BeautifulSoup would warn on URL-like strings).
        text = html.unescape(markup) if "&" in markup else markup
    else:
        soup = BeautifulSoup(markup, "lxml")
        for tag in soup.find_all(_DROPPED_TAGS):
            tag.decompose()
        for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
            comment.extract()
        for tag in soup.find_all(_BLOCK_TAGS):
            tag.insert_before(" ")
            tag.insert_after(" ")
        text = soup.get_text()
    text = collapse_whitespace(text)
    return truncate(text, limit) if limit is not None else text


def canonical_url(url: str | None) -> str | None:
    """A comparable form of `url`: lower-case scheme and host, no fragment, no default port,
    no tracking parameters (utm_*, fbclid, …), remaining query parameters sorted.

    Non-HTTP(S) or relative URLs come back stripped but otherwise untouched.
    """
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMS
    ]
    query.sort()
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def stable_guid(
    guid: str | None,
    link: str | None,
    title: str | None,
    published: datetime | None,
) -> str:
    """The entry's guid, else its canonical link, else a hash of title + source date.

    `published` must be the date the source gave (None when it gave none), never the fetch
    time, or the same entry would get a new guid on every poll.
    """
    if guid and guid.strip():
        return guid.strip()
    canonical = canonical_url(link)
    if canonical:
        return canonical
    stamp = published.isoformat() if published is not None else ""
    digest = hashlib.sha256(f"{title or ''}\x1f{stamp}".encode()).hexdigest()
    return f"sha256:{digest}"


def normalise_language(tag: str | None) -> str | None:
    """Primary subtag of a language tag, lower case: "en-US" → "en"; junk → None."""
    if not tag:
        return None
    match = _LANGUAGE.match(tag.strip().lower())
    return match.group(1) if match else None
