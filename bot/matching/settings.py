"""Configuration models owned by the matching engine.

The root `Settings` (bot/config.py) embeds `IndicatorsSettings` as `settings.indicators`,
`MatchingSettings` as `settings.matching` and `AlertThresholds` where alert policy needs it.
`SituationSpec` is the matcher's input; the lead converts each `[[situations]]` table into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_CODE_PATTERN = r"^[A-Z][A-Z0-9_]{0,15}$"


class TermDef(BaseModel):
    """One term in long form: exclusions cancel it nearby; `near` ties it to a situation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1)
    exclude: list[str] = []
    window: int | None = Field(default=None, ge=1, le=50)
    near: int | None = Field(default=None, ge=0, le=200)


class IndicatorDef(BaseModel):
    """A new indicator, or (with only `code` and `terms`) extra terms for an existing one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=_CODE_PATTERN)
    name: str | None = None
    short: str | None = None
    description: str = ""
    group: str = "custom"
    weight: float | None = Field(default=None, ge=0, le=10)
    near: int | None = Field(default=None, ge=0, le=200)
    exclude: list[str] = []
    terms: dict[str, list[str | TermDef]] = {}


class IndicatorsSettings(BaseModel):
    """The `[indicators]` section: which taxonomy, and how to adjust it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    taxonomy: Path | None = None
    disabled: list[str] = []
    weights: dict[str, float] = {}
    extra: list[IndicatorDef] = []
    proximity_words: int = Field(default=0, ge=0, le=200)


class MatchingSettings(BaseModel):
    """The `[matching]` section: gazetteer size and context rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gazetteer_min_population: int = Field(default=100_000, ge=1_000)
    exclusion_window: int = Field(default=6, ge=1, le=50)


class AlertThresholds(BaseModel):
    """How a match becomes a severity (README: "How severity follows").

    An item that reports an event (an act against civilians or protected people or objects)
    takes the event's severity: `watch`, `warning` from `mass_casualty` victims or a protected
    target, `critical` from `critical_casualties`. An item without one reaches at most
    `without_event` (default `info`: risk-factor mentions alone are not posted), by its score
    against `watch`, `warning` and `critical`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    watch: float = Field(default=2.5, gt=0)
    warning: float = Field(default=5.0, gt=0)
    critical: float = Field(default=10.0, gt=0)
    mass_casualty: int = Field(default=10, ge=1)
    critical_casualties: int = Field(default=100, ge=1)
    without_event: Literal["info", "watch", "warning", "critical"] = "info"
    corroboration_raise: int = Field(default=3, ge=2)

    @model_validator(mode="after")
    def _ordered(self) -> AlertThresholds:
        if not self.watch <= self.warning <= self.critical:
            raise ValueError("thresholds must satisfy watch <= warning <= critical")
        if self.mass_casualty > self.critical_casualties:
            raise ValueError("thresholds must satisfy mass_casualty <= critical_casualties")
        return self


@dataclass(frozen=True, kw_only=True)
class SituationSpec:
    """A watched situation: ISO 3166-1 alpha-3 countries plus optional extra names."""

    slug: str
    name: str
    countries: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
