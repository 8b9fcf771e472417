"""Briefing charts as PNG bytes: matplotlib's Agg canvas, no pyplot, deterministic output.

No pyplot: its global figure registry is not thread-safe, and scheduler jobs run in threads.
Determinism: fixed size and dpi, a fixed palette, fixed fonts, and the PNG `Software` tag removed
(matplotlib writes no timestamp into PNGs), so the same data gives the same bytes.

matplotlib (with numpy, PIL, fontTools, pyparsing: some 27 MB) is imported by the first chart,
not with this module: an instance that never renders a briefing chart, and every parse worker
it forks, does without it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

SIZE_INCHES = (8.0, 4.0)
DPI = 100
MAX_SERIES = 6
OTHER = "Other factors"
# Okabe–Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999")


@dataclass(frozen=True, kw_only=True)
class Week:
    start: datetime
    counts: Mapping[str, int]


def series(
    weeks: Sequence[Week], names: Mapping[str, str], *, limit: int = MAX_SERIES
) -> dict[str, list[int]]:
    """Pure: label → counts per week, the `limit` largest factors and the rest as 'Other'."""
    totals: dict[str, int] = {}
    for week in weeks:
        for code, n in week.counts.items():
            totals[code] = totals.get(code, 0) + n
    ranked = sorted(totals, key=lambda c: (-totals[c], c))
    keep, rest = ranked[:limit], set(ranked[limit:])
    out = {names.get(c, c): [w.counts.get(c, 0) for w in weeks] for c in keep}
    if rest:
        out[OTHER] = [sum(n for c, n in w.counts.items() if c in rest) for w in weeks]
    return out


def weekly_factor_chart(weeks: Sequence[Week], names: Mapping[str, str], *, title: str) -> bytes:
    """A stacked bar chart of matching reports per week by risk factor, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    data = series(weeks, names)
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [w.start.strftime("%d %b") for w in weeks]
    positions = list(range(len(weeks)))
    bottom = [0] * len(weeks)
    for index, (label, counts) in enumerate(data.items()):
        axes.bar(
            positions,
            counts,
            bottom=bottom,
            label=label[:40],
            color=PALETTE[index % len(PALETTE)],
            width=0.8,
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_title(title[:80], fontsize=11, family="DejaVu Sans")
    axes.set_ylabel("reports per risk factor, per week", fontsize=9, family="DejaVu Sans")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xticks(positions, labels, fontsize=8, rotation=45, ha="right")
    axes.spines[["top", "right"]].set_visible(False)
    if not data:
        axes.text(
            0.5,
            0.5,
            "no matching reports",
            ha="center",
            va="center",
            transform=axes.transAxes,
            color="#666666",
        )
    else:
        axes.legend(fontsize=7, loc="upper left", frameon=False, bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def alt_text(weeks: Sequence[Week], names: Mapping[str, str]) -> str:
    """A short description of the chart for screen readers (Slack `alt_txt`, HTML `alt`)."""
    data = series(weeks, names)
    if not data:
        return f"Bar chart: no matching reports in the last {len(weeks)} weeks."
    parts = [f"{label} {sum(counts)}" for label, counts in data.items()]
    return (
        f"Stacked bar chart of matching reports per week by risk factor over {len(weeks)} weeks; "
        f"totals: {', '.join(parts)}."
    )[:1000]
