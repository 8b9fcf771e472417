"""Matching engine: gazetteer, indicator taxonomy, compiled matcher, scoring (pure).

matcher = build_matcher(situations, settings.indicators, settings.matching)
result = matcher.match(item)                     # MatchResult with Evidence
scored = score(result, tier=1, corroborating_sources=3,
               novel_indicators=frozenset({"RF10"}), thresholds=AlertThresholds())
"""

from bot.matching.cluster import same_story, title_key
from bot.matching.errors import MatchingError, TaxonomyError
from bot.matching.jsonl import match_jsonl
from bot.matching.matcher import Matcher, build_matcher
from bot.matching.model import Evidence, Factor, MatchResult
from bot.matching.scoring import Scored, score
from bot.matching.settings import (
    AlertThresholds,
    IndicatorDef,
    IndicatorsSettings,
    MatchingSettings,
    SituationSpec,
    TermDef,
)
from bot.matching.taxonomy import Indicator, load_taxonomy, resolve_indicators

__all__ = [
    "AlertThresholds",
    "Evidence",
    "Factor",
    "Indicator",
    "IndicatorDef",
    "IndicatorsSettings",
    "MatchResult",
    "Matcher",
    "MatchingError",
    "MatchingSettings",
    "Scored",
    "SituationSpec",
    "TaxonomyError",
    "TermDef",
    "build_matcher",
    "load_taxonomy",
    "match_jsonl",
    "resolve_indicators",
    "same_story",
    "score",
    "title_key",
]
