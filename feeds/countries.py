"""Country names and codes as sources write them → ISO 3166-1 alpha-3 (pycountry-backed)."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

__all__ = ["iso3_codes", "to_iso3"]

# ReliefWeb spellings that pycountry's names, official names and common names do not cover.
_ALIASES = {
    "democratic republic of the congo": "COD",
    "occupied palestinian territory": "PSE",
    "palestine": "PSE",
    "state of palestine": "PSE",
    "republic of korea": "KOR",
    "turkey": "TUR",
    "swaziland": "SWZ",
    "the former yugoslav republic of macedonia": "MKD",
    "micronesia (federated states of)": "FSM",
    "holy see": "VAT",
    "china - hong kong (special administrative region)": "HKG",
    "china - macau (special administrative region)": "MAC",
    "china - taiwan province": "TWN",
    "saint helena": "SHN",
    "saint martin (france)": "MAF",
    "sint maarten (the netherlands)": "SXM",
    "svalbard and jan mayen islands": "SJM",
    "united states virgin islands": "VIR",
    "pitcairn islands": "PCN",
    "aland islands (finland)": "ALA",
    "bonaire, saint eustatius and saba (the netherlands)": "BES",
    "russia": "RUS",
    "kosovo": "XKX",  # not ISO 3166; the code ReliefWeb and the UN use
    "cape verde": "CPV",
    "ivory coast": "CIV",
    "cote d'ivoire": "CIV",
    "burma": "MMR",
}
_CODE = re.compile(r"^[A-Z]{3}$")
_QUALIFIER = re.compile(
    r"\s*\([^)]*\)\s*$"
)  # "Aruba (The Netherlands)", "Iran (Islamic Republic of)"
_SEPARATORS = re.compile(r"[\s,;]+")


@lru_cache(maxsize=4096)
def to_iso3(name_or_code: str) -> str | None:
    """ "Ukraine" → "UKR"; "UKR" → "UKR"; "Iran (Islamic Republic of)" → "IRN"; else None.

    Three-letter strings count as codes only in upper case, and two-letter or numeric codes
    are not accepted, so ordinary words ("in", "at", "can") never become countries.
    """
    text = " ".join(name_or_code.split())
    if _CODE.match(text):
        return text if text == "XKX" or _by_alpha3(text) else None
    if len(text) <= 3:
        return None
    alias = _ALIASES.get(text.lower())
    if alias:
        return alias
    for candidate in (text, _QUALIFIER.sub("", text)):
        try:
            country = pycountry.countries.lookup(candidate)
        except LookupError:
            continue
        return str(country.alpha_3)
    return None


def iso3_codes(raw: str) -> tuple[str, ...]:
    """Codes from a GDACS-style list ("SDN", "SDN,SSD", "SDN SSD"), validated, deduplicated."""
    codes: list[str] = []
    for token in _SEPARATORS.split(raw.strip().upper()):
        code = to_iso3(token) if token else None
        if code and code not in codes:
            codes.append(code)
    return tuple(codes)


def _by_alpha3(code: str) -> bool:
    return pycountry.countries.get(alpha_3=code) is not None
