"""What matching returns: evidence with offsets into the original text, per item."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.matching.events import Event

EvidenceKind = Literal["situation", "indicator"]
Field = Literal["title", "summary", "tags"]


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """Why a situation or indicator matched: `text[start:end]` of `field` is `matched`."""

    kind: EvidenceKind
    key: str  # situation slug or indicator code
    term: str  # the term as written in the gazetteer or taxonomy
    matched: str  # the original text that matched
    field: Field
    start: int
    end: int
    language: str  # language of the term ("" when not language-specific)


@dataclass(frozen=True, kw_only=True)
class Factor:
    """A matched indicator as scoring needs it."""

    code: str
    short: str
    weight: float


@dataclass(frozen=True, kw_only=True)
class MatchResult:
    """Situations, indicators and events found in one item, with the evidence for each.

    `events` are acts against victims or targets (bot/matching/events.py); each also adds
    `indicator` evidence for the risk factors it maps onto. `language` is the one the item's
    terms were chosen by (declared by the feed or detected; None: every language's terms).
    """

    situations: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    factors: tuple[Factor, ...] = ()
    situation_names: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    language: str | None = None

    @property
    def matched(self) -> bool:
        return bool(self.situations)
