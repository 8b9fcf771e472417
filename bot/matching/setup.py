"""Build the matcher from the application's Settings (`[[situations]]` → `SituationSpec`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.matching.matcher import Matcher, build_matcher
from bot.matching.settings import SituationSpec

if TYPE_CHECKING:
    from bot.config import Settings, SituationSettings


def situation_spec(situation: SituationSettings) -> SituationSpec:
    return SituationSpec(
        slug=situation.slug,
        name=situation.name,
        countries=tuple(situation.countries),
        aliases=tuple(situation.aliases),
        places=tuple(situation.places),
        actors=tuple(situation.actors),
        exclusions=tuple(situation.exclusions),
    )


def matcher_from_settings(settings: Settings) -> Matcher:
    return build_matcher(
        [situation_spec(s) for s in settings.situations], settings.indicators, settings.matching
    )


def indicator_name(matcher: Matcher, code: str) -> str:
    factor = matcher.factors.get(code)
    return factor.short if factor is not None else code
