"""The words users read: one Jinja2 environment, one Slack-escape filter, Block Kit builders.

Slack mrkdwn has three control characters: `&`, `<` and `>`. Every untrusted string (feed titles,
summaries, source names, URLs, arguments a user typed) goes through `esc` exactly once, here, at
render time; autoescape is OFF because this is not HTML. `esc` truncates *before* escaping, to a
budget measured in escaped characters, so an entity is never cut in half. It also drops control
characters and bidirectional overrides, which could disguise text.

Python builds the Block Kit structure with slack_sdk's classes (their `to_dict()` checks Slack's
limits); templates in `templates/slack/` fill the text.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from slack_sdk.models.blocks import (
    Block,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)


def template_root() -> Path:
    """Where `templates/` is: $TOCSIN_TEMPLATES, the source tree, or the installed data files."""
    candidates = [
        Path(os.environ["TOCSIN_TEMPLATES"]) if os.environ.get("TOCSIN_TEMPLATES") else None,
        Path(__file__).resolve().parents[1] / "templates",
        Path(sys.prefix) / "share" / "tocsin" / "templates",
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "slack").is_dir():
            return candidate
    raise FileNotFoundError(
        "Tocsin's templates/ folder was not found; set TOCSIN_TEMPLATES to its path"
    )


TEMPLATES = template_root() / "slack"
ELLIPSIS = "…"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_TABLE = str.maketrans(_ENTITIES)
_WHITESPACE = re.compile(r"\s+")
# control characters and bidirectional overrides/isolates, which can disguise text (U+202E)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
MAX_URL = 2000
SECTION_MAX = 3000  # slack_sdk SectionBlock.text_max_length
HEADER_MAX = 150  # slack_sdk HeaderBlock.text_max_length
MAX_BLOCKS = 50  # per message


def esc(value: object, limit: int | None = None, *, oneline: bool = False) -> str:
    """`value` as inert mrkdwn; with `limit`, at most `limit` characters *after* escaping."""
    text = strip_controls("" if value is None else str(value))
    if oneline:
        text = _WHITESPACE.sub(" ", text).strip()
    escaped = text.translate(_TABLE)
    if limit is None or len(escaped) <= limit:
        return escaped
    budget, used, out = limit - len(ELLIPSIS), 0, []
    for char in text:
        piece = _ENTITIES.get(char, char)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + ELLIPSIS


def strip_controls(text: str) -> str:
    """`text` without control characters or bidirectional overrides (newlines and tabs stay)."""
    return _CONTROLS.sub("", text)


def unescape(text: str) -> str:
    """Undo Slack's own escaping of text it sends us (slash-command arguments), once."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that cannot break out of `<url|label>`, or None when it is not one."""
    if not url:
        return None
    url = url.strip()
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    url = scheme + url[len(parts.scheme) :]  # Slack links only a lower-case scheme
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


def link(url: str | None, label: object, limit: int | None = None) -> str:
    """`<url|label>` when the URL is a safe http(s) URL, else just the escaped label."""
    target = safe_url(url)
    if target is None:
        return esc(label, limit, oneline=True)
    href = esc(target)
    text = strip_controls(str(label or "")).strip() or target
    if limit is None:
        return f"<{href}|{esc(text, oneline=True)}>"
    if len(href) + 16 > limit:  # a monstrous URL: show the label, drop the link
        return esc(text, limit, oneline=True)
    return f"<{href}|{esc(text, limit - len(href) - 3, oneline=True)}>"


def user(user_id: object) -> str:
    """A user mention for an ID Slack gave us; anything else is escaped text."""
    value = str(user_id or "")
    return f"<@{value}>" if _USER_ID.match(value) else esc(value)


def channel(channel_id: object) -> str:
    """A channel mention for an ID Slack gave us ("a direct message" for a DM's `D…` id)."""
    value = str(channel_id or "")
    if not _CHANNEL_ID.match(value):
        return esc(value)
    return "a direct message" if value.startswith("D") else f"<#{value}>"


def slack_date(when: datetime | None, style: str = "{date_short_pretty} {time}") -> str:
    """A date Slack shows in each reader's time zone, with a UTC fallback."""
    if when is None:
        return "never"
    when = when.astimezone(UTC)
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{style}|{fallback}>"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(esc=esc, link=link, user=user, channel=channel, date=slack_date)
    return env


ENV = _environment()
# Filters that make a value safe for mrkdwn; tests check every `{{ }}` ends in one of them.
SAFE_FILTERS = frozenset(ENV.filters) & {"esc", "link", "user", "channel", "date"}


def render(template: str, **context: Any) -> str:
    """A whole template, stripped of leading/trailing blank lines."""
    return ENV.get_template(template).render(**context).strip()


def part(template: str, macro: str, **context: Any) -> str:
    """One macro of a template (templates group the pieces of one message as macros)."""
    module = ENV.get_template(template).module
    return str(getattr(module, macro)(**context)).strip()


@dataclass(frozen=True, kw_only=True)
class Message:
    """A rendered Slack message: notification `text` and Block Kit `blocks`."""

    text: str
    blocks: tuple[Block, ...] = ()

    def block_dicts(self) -> list[dict[str, Any]]:
        """The blocks as JSON; raises SlackObjectFormationError when a Slack limit is broken."""
        return [b.to_dict() for b in self.blocks]


def text_message(template: str, **context: Any) -> Message:
    """A command reply: the rendered mrkdwn in section blocks, and a safe notification text."""
    body = render(template, **context) or " "
    return Message(text=fallback(body), blocks=tuple(sections(body)))


def sections(body: str, limit: int = SECTION_MAX) -> list[SectionBlock]:
    """Split rendered mrkdwn at line breaks into sections of at most `limit` characters.

    Templates emit whole lines and cap each untrusted field, so a line never holds a cut entity.
    """
    chunks: list[str] = []
    current = ""
    for line in body.split("\n"):
        if len(line) > limit:
            line = fallback(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current.strip():
        chunks.append(current)
    return [SectionBlock(text=mrkdwn(chunk)) for chunk in chunks[:MAX_BLOCKS]]


def header(text: str) -> HeaderBlock:
    """A header block: plain_text (Slack parses no markup there, so pass config values and our
    own words only), whitespace collapsed, cut to Slack's limit."""
    text = " ".join(text.split())
    if len(text) > HEADER_MAX:
        text = text[: HEADER_MAX - 1] + ELLIPSIS
    return HeaderBlock(text=PlainTextObject(text=text, emoji=True))


def mrkdwn(text: str) -> MarkdownTextObject:
    """Verbatim mrkdwn: Slack does not auto-link names or parse mentions in plain words."""
    return MarkdownTextObject(text=text, verbatim=True)


def fallback(body: str, limit: int = 3000) -> str:
    """Rendered mrkdwn cut at a safe point (never inside an entity or a `<...>` token)."""
    if len(body) <= limit:
        return body
    cut = body[: limit - 1]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut + ELLIPSIS
