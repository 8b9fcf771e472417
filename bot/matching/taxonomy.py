"""The indicator taxonomy: load data/indicators.toml (or a replacement) and apply overrides."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.matching.errors import TaxonomyError
from bot.matching.normalize import fold
from bot.matching.settings import IndicatorDef, IndicatorsSettings, TermDef
from bot.matching.terms import (
    Term,
    arabic_accusative,
    english_plural,
    french_elisions,
    romance_plural,
    split_wildcards,
)


@dataclass(frozen=True, kw_only=True)
class IndicatorTerm:
    text: str
    lang: str
    exclude: tuple[str, ...] = ()
    window: int | None = None
    near: int | None = None


@dataclass(frozen=True, kw_only=True)
class Indicator:
    code: str
    group: str
    name: str
    short: str
    description: str
    weight: float
    terms: tuple[IndicatorTerm, ...]
    exclude: tuple[str, ...] = ()
    near: int | None = None


def _term(lang: str, raw: str | TermDef) -> IndicatorTerm:
    if isinstance(raw, str):
        return IndicatorTerm(text=raw, lang=lang)
    exclude = tuple(raw.exclude)
    return IndicatorTerm(
        text=raw.term, lang=lang, exclude=exclude, window=raw.window, near=raw.near
    )


def _terms(definition: IndicatorDef) -> tuple[IndicatorTerm, ...]:
    return tuple(_term(lang, raw) for lang, raws in definition.terms.items() for raw in raws)


def _indicator(definition: IndicatorDef, *, path: Path | None) -> Indicator:
    if definition.name is None or definition.weight is None:
        raise TaxonomyError(f"indicator {definition.code} needs a name and a weight", path=path)
    return Indicator(
        code=definition.code,
        group=definition.group,
        name=definition.name,
        short=definition.short or definition.name,
        description=definition.description,
        weight=definition.weight,
        terms=_terms(definition),
        exclude=tuple(definition.exclude),
        near=definition.near,
    )


def _read(path: Path | None) -> dict[str, Any]:
    try:
        if path is None:
            data = resources.files("bot.matching").joinpath("data").joinpath("indicators.toml")
            return tomllib.loads(data.read_text(encoding="utf-8"))
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TaxonomyError(str(exc), path=path) from exc


def load_taxonomy(path: Path | None = None) -> tuple[Indicator, ...]:
    """The indicators in `path` (default: the shipped data/indicators.toml)."""
    raw = _read(path)
    try:
        definitions = [IndicatorDef.model_validate(entry) for entry in raw.get("indicator", [])]
    except ValidationError as exc:
        raise TaxonomyError(str(exc), path=path) from exc
    codes = [d.code for d in definitions]
    if len(codes) != len(set(codes)):
        raise TaxonomyError("indicator codes must be unique", path=path)
    return tuple(_indicator(d, path=path) for d in definitions)


def _extend(known: dict[str, Indicator], extra: IndicatorDef) -> None:
    if extra.code not in known:
        known[extra.code] = _indicator(extra, path=None)
        return
    base = known[extra.code]
    known[extra.code] = replace(
        base,
        terms=base.terms + _terms(extra),
        weight=extra.weight if extra.weight is not None else base.weight,
        exclude=base.exclude + tuple(extra.exclude),
    )


def apply_settings(
    indicators: Iterable[Indicator], settings: IndicatorsSettings
) -> tuple[Indicator, ...]:
    """Add extra indicators/terms, change weights, drop disabled codes (in that order)."""
    known = {i.code: i for i in indicators}
    for extra in settings.extra:
        _extend(known, extra)
    unknown = (set(settings.weights) | set(settings.disabled)) - set(known)
    if unknown:
        raise TaxonomyError(f"unknown indicator codes in [indicators]: {sorted(unknown)}")
    for code, weight in settings.weights.items():
        known[code] = replace(known[code], weight=weight)
    disabled = set(settings.disabled)
    return tuple(i for code, i in known.items() if code not in disabled)


def resolve_indicators(settings: IndicatorsSettings) -> tuple[Indicator, ...]:
    """The taxonomy the configuration asks for: base file plus overrides."""
    return apply_settings(load_taxonomy(settings.taxonomy), settings)


def indicator_terms(
    indicators: Iterable[Indicator], *, proximity_words: int, exclusion_window: int
) -> Iterator[Term]:
    """Automaton terms for every indicator term."""
    for indicator in indicators:
        shared_exclude = tuple(fold(e) for e in indicator.exclude)
        for term in indicator.terms:
            near = term.near if term.near is not None else indicator.near
            # its plural ("operaciones terrestres", "ground operations"), its Arabic accusative
            # ("نزوحا"), and French glued to an elided article by a feed that dropped the
            # apostrophe ("lexode")
            plurals = [
                romance_plural(term.text, term.lang),
                english_plural(term.text, term.lang),
                arabic_accusative(term.text),
            ]
            texts = [term.text] + [p for p in plurals if p]
            if term.lang == "fr":
                texts += [e for t in texts for e in french_elisions(t)]
            for text in texts:
                head, tail = split_wildcards(text)
                yield Term(
                    kind="indicator",
                    keys=(indicator.code,),
                    text=text,
                    lang=term.lang,
                    prefix=head.endswith("*"),
                    tail=tail,
                    exclude=shared_exclude + tuple(fold(e) for e in term.exclude),
                    window=term.window or exclusion_window,
                    near=near if near is not None else proximity_words,
                )
