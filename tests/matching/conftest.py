"""A matcher over a few dozen situations, built once for the whole matching test run."""

from __future__ import annotations

import pytest

from bot.matching import Matcher, SituationSpec, build_matcher

WATCHED = {
    "sudan": ("Sudan", ("SDN",)),
    "south-sudan": ("South Sudan", ("SSD",)),
    "niger": ("Niger", ("NER",)),
    "nigeria": ("Nigeria", ("NGA",)),
    "guinea": ("Guinea", ("GIN",)),
    "guinea-bissau": ("Guinea-Bissau", ("GNB",)),
    "drc": ("DR Congo", ("COD",)),
    "congo": ("Republic of the Congo", ("COG",)),
    "georgia": ("Georgia", ("GEO",)),
    "dominica": ("Dominica", ("DMA",)),
    "dominican-republic": ("Dominican Republic", ("DOM",)),
    "chad": ("Chad", ("TCD",)),
    "jordan": ("Jordan", ("JOR",)),
    "syria": ("Syria", ("SYR",)),
    "haiti": ("Haiti", ("HTI",)),
    "myanmar": ("Myanmar", ("MMR",)),
    "car": ("Central African Republic", ("CAF",)),
    "somalia": ("Somalia", ("SOM",)),
    "ethiopia": ("Ethiopia", ("ETH",)),
    "ukraine": ("Ukraine", ("UKR",)),
    "mali": ("Mali", ("MLI",)),
    "mozambique": ("Mozambique", ("MOZ",)),
    "venezuela": ("Venezuela", ("VEN",)),
}


def situations() -> list[SituationSpec]:
    specs = [SituationSpec(slug=s, name=n, countries=c) for s, (n, c) in WATCHED.items()]
    specs.append(
        SituationSpec(
            slug="darfur",
            name="Darfur",
            countries=(),
            aliases=("Darfur",),
            places=("El Geneina", "Nyala"),
            actors=("Rapid Support Forces", "RSF", "Janjaweed"),
            exclusions=("Darfur United football",),
        )
    )
    return specs


@pytest.fixture(scope="session")
def matcher() -> Matcher:
    return build_matcher(situations())
