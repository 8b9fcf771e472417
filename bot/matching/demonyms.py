"""Inflect the curated demonym base forms in data/demonyms.toml (see its header)."""

from __future__ import annotations

_FR_RULES = (
    ("ien", ("ienne", "iens", "iennes")),
    ("éen", ("éenne", "éens", "éennes")),
    ("en", ("enne", "ens", "ennes")),
    ("ain", ("aine", "ains", "aines")),
    ("ais", ("aise", "aises")),
    ("ois", ("oise", "oises")),
    ("in", ("ine", "ins", "ines")),
    ("an", ("ane", "ans", "anes")),
    ("e", ("es",)),
)
_IBERIAN_RULES = (
    ("és", ("esa", "eses", "esas")),
    ("ês", ("esa", "eses", "esas")),
    ("o", ("a", "os", "as")),
    ("í", ("íes", "ís")),
    ("e", ("es",)),
)


def _by_suffix(base: str, rules: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...]:
    for suffix, endings in rules:
        if base.endswith(suffix):
            stem = base[: -len(suffix)]
            return (base, *(stem + ending for ending in endings))
    return (base, base + "e", base + "s", base + "es")


def _english(base: str) -> tuple[str, ...]:
    if base.endswith(("ese", "ish", "ch", "'s")):
        return (base,)
    return (base, base + "s")


STEM_LANGUAGES = frozenset({"ru", "ar"})
# the endings of an Arabic nisba adjective ("تركي" → "تركية", "تركيين", "تركيا"): a stem that
# took any ending would also be the start of other words ("تركيز" focus, "تركيب" structure)
_ARABIC_NISBA = ("", "ة", "ا", "ين", "ون", "ان", "تين", "تان", "ات")


def inflect(lang: str, base: str) -> tuple[tuple[str, bool], ...]:
    """Forms of one demonym base as (form, is_prefix) pairs; prefixes match any ending."""
    if lang == "ar" and base.endswith("ي"):
        return tuple((base + ending, False) for ending in _ARABIC_NISBA)
    if lang in STEM_LANGUAGES:
        return ((base, True),)
    if lang == "en":
        forms = _english(base)
    elif lang == "fr":
        forms = _by_suffix(base, _FR_RULES)
    elif lang in {"es", "pt"}:
        forms = _by_suffix(base, _IBERIAN_RULES)
    else:
        forms = (base,)
    return tuple((form, False) for form in forms)
