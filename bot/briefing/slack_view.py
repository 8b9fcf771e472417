"""Briefings and digests as Slack messages: Block Kit built here, words from templates/briefing/.

The templates are rendered by an *overlay* of `bot.render.ENV` (the one Slack environment: the
same `esc`/`link`/`date` filters, autoescape off) that only adds the briefing template folder.

Slack's limits: 50 blocks per message, 3,000 characters per section, and about 13,000 characters
of block text per message. `paginate` cuts the blocks into messages under those limits; the
sender posts the first and threads the rest under it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from jinja2 import Environment, FileSystemLoader
from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock

from bot import render
from bot.briefing.data import BriefingData
from bot.briefing.trend import RULE

TEMPLATES = render.template_root() / "briefing"
SLACK_ENV: Environment = render.ENV.overlay(loader=FileSystemLoader(TEMPLATES))
MAX_TEXT = 12_000  # block text per message; Slack truncates above ~13,000
ARROWS = {"deteriorated": "▲", "improved": "▼", "unchanged": "►"}


def macro(template: str, macro_name: str, /, **context: Any) -> str:
    """One macro of a briefing template, rendered and stripped."""
    module = SLACK_ENV.get_template(template).module
    return str(getattr(module, macro_name)(**context)).strip()


def briefing_blocks(data: BriefingData, *, title: str, chart: bool) -> list[Block]:
    """Every block of a briefing, in reading order (before pagination)."""

    def part(name: str, **extra: Any) -> str:
        return macro("briefing.slack.j2", name, b=data, **extra)

    arrow = ARROWS[data.trend.direction]
    blocks: list[Block] = [render.header(f"{arrow} {data.situation.name} — {title}")]
    blocks += render.sections(part("overview"))
    blocks.append(
        ContextBlock(elements=[render.mrkdwn(macro("briefing.slack.j2", "rule", text=RULE))])
    )
    blocks.append(DividerBlock())
    blocks += render.sections(part("factors"))
    if data.novel:
        blocks += render.sections(part("novel"))
    blocks += render.sections(part("top_items"))
    blocks += render.sections(part("diversity"))
    blocks += render.sections(part("feedback"))
    blocks.append(ContextBlock(elements=[render.mrkdwn(part("footer", chart=chart))]))
    return blocks


def briefing_messages(data: BriefingData, *, title: str, chart: bool) -> list[render.Message]:
    text = macro("briefing.slack.j2", "fallback", b=data, title=title)
    return messages(text, briefing_blocks(data, title=title, chart=chart))


def messages(text: str, blocks: Sequence[Block]) -> list[render.Message]:
    """The blocks cut into messages; continuations say so in their notification text."""
    pages = paginate(blocks)
    return [
        render.Message(
            text=text if i == 0 else f"{text} (continued {i + 1}/{len(pages)})", blocks=tuple(page)
        )
        for i, page in enumerate(pages)
    ]


def paginate(
    blocks: Sequence[Block], *, max_blocks: int = render.MAX_BLOCKS, max_text: int = MAX_TEXT
) -> list[list[Block]]:
    """Pure: consecutive runs of blocks with at most `max_blocks` blocks and `max_text` characters
    of text each (a lone oversized block still gets a message of its own)."""
    pages: list[list[Block]] = []
    current: list[Block] = []
    used = 0
    for block in blocks:
        size = text_length(block.to_dict())
        if current and (len(current) >= max_blocks or used + size > max_text):
            pages.append(current)
            current, used = [], 0
        current.append(block)
        used += size
    if current:
        pages.append(current)
    return pages


def text_length(payload: Any) -> int:
    """Characters of text in a block's JSON (every `text` string, however deeply nested)."""
    return sum(len(s) for s in _texts(payload))


def _texts(payload: Any) -> Iterator[str]:
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from _texts(value)
