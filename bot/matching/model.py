"""What matching returns: evidence with offsets into the original text, per item."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    """Situations and indicators found in one item, with the evidence for each."""

    situations: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    factors: tuple[Factor, ...] = ()
    situation_names: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        return bool(self.situations)
