"""``summary.md``: a plan's figures and its route review, written for people.

Planner-facing (it stays in the output folder, never in ``partner/``): the
student counts in it are modelled aggregates per route, not students.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .result import PlanResult
from .schedule import WINDOWS

__all__ = ["figure_lines", "plan_summary", "review_section"]

TOP_EXTENSIONS = 10


def plan_summary(result: PlanResult) -> str:
    """The whole summary (Markdown)."""
    title = " · ".join(part for part in (result.plan_name, result.plan_date) if part)
    parts = [f"# Safe Passage plan {title}", "", *_figures(result), ""]
    parts += review_section(result)
    parts += ["", *_staffing(result)]
    if result.comparison is not None:
        parts += ["", *_comparison(result.comparison)]
    timings = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in result.timings.items())
    parts += ["", "## Run", "", f"Stage times: {timings}.", ""]
    return "\n".join(parts)


def review_section(result: PlanResult) -> list[str]:
    """The route review section's lines (also printed by ``safepassage plan``)."""
    review, extensions = result.review, result.extensions
    if review is None or extensions is None:
        return [
            "## Route review",
            "",
            "No designated routes were given ([data] designated_routes).",
        ]
    windows = [w for w in WINDOWS if f"risk_{w}" in review]
    lines = [
        "## Route review",
        "",
        f"{len(review)} designated routes of {review['school_id'].nunique()} schools, "
        f"{review['length_m'].sum() / 1000:.1f} km; "
        f"{_share(review['matched_share'], review['length_m'])} of their length matched "
        "onto the street network.  Students are modelled aggregates; risk is weighted "
        "incidents per km per year; exposure is students x risk x km.",
        "",
    ]
    header = ["route", "km", "matched"]
    header += [f"students {w}" for w in windows] + [f"risk {w}" for w in windows]
    header += [f"change {w}" for w in windows if f"risk_change_{w}" in review]
    header += [f"uncovered {w}" for w in windows] + ["riskiest stretches"]
    rows = []
    for row in review.to_dict("records"):
        cells = [row["route_id"], f"{row['length_m'] / 1000:.2f}", f"{row['matched_share']:.0%}"]
        cells += [f"{row[f'students_{w}']:.0f}" for w in windows]
        cells += [f"{row[f'risk_{w}']:.2f}" for w in windows]
        cells += [f"{row[f'risk_change_{w}']:+.2f}" for w in windows if f"risk_change_{w}" in row]
        cells += [f"{row[f'uncovered_share_{w}']:.0%}" for w in windows]
        cells.append(str(row["riskiest"]) or "-")
        rows.append(cells)
    lines += _table(header, rows)
    lines += ["", *_extensions(extensions)]
    return lines


def _staffing(result: PlanResult) -> list[str]:
    needs = result.needs
    total = needs[needs["vendor_id"] == "ALL"]
    if total.empty:
        return []
    row = total.iloc[0]
    wages = result.config.staffing
    lines = [
        "## Staffing needs",
        "",
        f"{row['posts']} posts, {row['post_windows_week']:,} post-windows a week: "
        f"{row['workers_needed']} workers needed ({row['floaters']} of them floaters), "
        f"{row['hours_week']:,.0f} hours a week, ${row['cost_year']:,.0f} a school year in "
        f"wages (${wages.hourly_wage:.2f} an hour, {wages.school_days} days; no vendor "
        "overhead).",
    ]
    vendors = needs[(needs["school_id"] == "ALL") & (needs["vendor_id"] != "ALL")]
    if result.roster is not None:
        pairs = zip(vendors["shortfall"], vendors["vendor_id"], strict=True)
        short = [f"{int(n)} at {vendor}" for n, vendor in pairs if n]
        verdict = "short by " + ", ".join(short) if short else "enough for every vendor"
        lines.append(f"The workers given: {row['workers_given']}; {verdict} (staffing_needs.csv).")
        if row["workers_uncleared"]:
            lines.append(
                f"{row['workers_uncleared']} more workers are not yet cleared by the background "
                "check and stay off the roster."
            )
        floaters = result.floaters
        if len(floaters):
            covering = int(floaters["covering"].sum())
            lines.append(
                f"{len(floaters)} floaters stand by at their vendors' schools (floaters.csv); "
                f"{covering} post-windows a week are covered by a floater because no regular "
                "worker could stand there."
            )
    return lines


#: How each headline metric reads: its words and format (units included).
FIGURES: dict[str, tuple[str, str]] = {
    "schools": ("schools planned", "{:,}"),
    "schools_unsnapped": ("schools not on the street network", "{:,}"),
    "origins": ("student origins (aggregates)", "{:,}"),
    "students_routed": ("students routed (modelled)", "{:,.0f}"),
    "corridor_km": ("corridors", "{:,.1f} km"),
    "corridors_designated": ("designated corridors", "{:,}"),
    "corridors_designed": ("designed corridors", "{:,}"),
    "students_served": ("students on the corridors (modelled)", "{:,.0f}"),
    "risk_exposure_on_corridors": (
        "risk exposure on the corridors",
        "{:,.0f} student-weighted incidents a year",
    ),
    "posts_candidate": ("candidate posts", "{:,}"),
    "posts_selected": ("posts chosen", "{:,}"),
    "routes_reviewed": ("designated routes reviewed", "{:,}"),
    "extensions_proposed": ("extensions proposed", "{:,}"),
    "post_value_covered": ("post value covered", "{:,.1f} (student-weighted risk)"),
    "workers_needed": ("workers needed", "{:,} (floaters included)"),
    "wage_cost_year_usd": ("wages", "${:,.0f} a school year"),
    "post_windows_staffed": ("post-windows staffed", "{:,} a week"),
    "post_windows_unfilled": ("post-windows unfilled", "{:,} a week (see unfilled.csv)"),
    "reference_recall": ("recall against the reference routes", "{:.1%} within 50 m"),
    "reference_precision": ("precision against the reference routes", "{:.1%} within 50 m"),
}


def figure_lines(metrics: dict[str, Any]) -> list[str]:
    """The headline metrics in words, with units (``summary.md`` and ``safepassage plan``)."""
    lines = []
    for key, value in metrics.items():
        if isinstance(value, int | float | str):
            words, fmt = FIGURES.get(key, (key.replace("_", " "), "{}"))
            lines.append(f"{words}: {fmt.format(value)}")
    return lines


def _figures(result: PlanResult) -> list[str]:
    return ["## Figures", "", *(f"- {line}" for line in figure_lines(result.metrics))]


def _extensions(extensions: pd.DataFrame) -> list[str]:
    if extensions.empty:
        return ["No extension proposed: the routes' students walk no risky street off them."]
    best = extensions.sort_values(["gain_per_km", "extension_id"], ascending=[False, True])
    best = best.head(TOP_EXTENSIONS)
    lines = [
        f"### Proposed extensions ({len(extensions)}; the {len(best)} with the most "
        "uncovered exposure per added km)",
        "",
    ]
    rows = [
        [
            str(row["extension_id"]),
            str(row["description"]),
            f"{row['gain_per_km']:.1f}",
            f"{row['share_of_uncovered']:.0%}",
        ]
        for row in best.to_dict("records")
    ]
    return lines + _table(["extension", "streets", "gain per km", "of uncovered"], rows)


def _comparison(comparison: pd.DataFrame) -> list[str]:
    total = comparison[comparison["school_id"] == "ALL"]
    if total.empty:
        return []
    row = total.iloc[0]
    return [
        "## Against the reference routes",
        "",
        f"Recall {row['recall']:.3f}, precision {row['precision']:.3f} "
        f"({row['reference_m'] / 1000:.1f} km of reference routes, "
        f"{row['ours_m'] / 1000:.1f} km of corridors).",
    ]


def _share(values: pd.Series, weights: pd.Series) -> str:
    total = float(weights.sum())
    return f"{float((values * weights).sum()) / total:.1%}" if total > 0 else "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(cell, r)) + " |" for r in rows]
    return lines
