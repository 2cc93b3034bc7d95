"""Write a plan's outputs into a folder, atomically.

Layout of the folder::

    plan.gpkg        layers risk, corridors, posts, origins (aggregates), schools,
                     roster (selected posts with their workers per window) and, with
                     designated routes, designated (the input routes of the planned
                     schools), review, uncovered, extensions
    posts.csv        post_id, school_id, school_name, cross_streets, kind, x, y, lat, lon,
                     selected, values
    roster.csv       the assignments
    unfilled.csv     post-windows left unstaffed, with reasons
    floaters.csv     the floaters, where each stands by default, what they already cover
    staff.csv        the rostered workers as read (availability, limits, cleared,
                     name, phone) and vendors.csv (vendor, contacts, schools), and
    post_walks.csv   the pairs of posts of different schools one worker may hold in a
                     day: what ``safepassage replan`` re-plans a day from
    staffing_needs.csv  workers needed and their wage cost, per vendor and school
    comparison.csv   recall/precision against the reference routes
    route_review.csv one row per designated route (see README, "Route review")
    extensions.csv   proposed extensions of the designated routes
    summary.md       the plan's figures and the route review, for people
    map.html         the interactive map (self-contained when configured)
    partner/         one PDF post packet per vendor and partner.csv (no student data)
    manifest.json    inputs with sha256, config, versions, seed, timings, metrics, and
                     "outputs": the relative path of every file written here

``DIR`` is written only when it is new, empty or a previous plan output
(:func:`check_output_folder`, run before planning); files a planner added to a
previous plan folder are kept.  See :mod:`safepassage.atomic` for the scheme.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .atomic import OutputFolder, atomic_output_dir, check_output_dir
from .crs import WGS84
from .executor import make_executor
from .io import flat_lists
from .result import PlanResult

__all__ = [
    "OUTPUT_FILES",
    "PACKET_WORKERS",
    "check_output_folder",
    "write_outputs",
    "write_packets",
]

logger = logging.getLogger(__name__)

#: Processes writing the PDF post packets (never more than the CPUs or the vendors).
PACKET_WORKERS = 2

#: The workers table's columns kept in staff.csv (with name, phone, cleared, floater).
STAFF_INPUT_COLUMNS = (
    "worker_id",
    "vendor_id",
    "weekdays",
    "windows",
    "max_minutes_day",
    "max_days_week",
)

#: Every file a plan may write (globs, relative to the output folder).
OUTPUT_FILES = (
    "plan.gpkg",
    "posts.csv",
    "roster.csv",
    "unfilled.csv",
    "floaters.csv",
    "staff.csv",
    "vendors.csv",
    "post_walks.csv",
    "comparison.csv",
    "route_review.csv",
    "staffing_needs.csv",
    "extensions.csv",
    "summary.md",
    "map.html",
    "partner/partner.csv",
    "partner/posts_*.pdf",
    "manifest.json",
)


def check_output_folder(out: str | Path, *, clean: bool = True) -> OutputFolder:
    """Refuse ``out`` unless it is new, empty or a previous plan output (run before planning).

    Also removes staging folders a killed run left there (unless ``clean`` is False).

    Raises
    ------
    OutputFolderError
        Naming a few of the files that are in the way and what to do.
    """
    return check_output_dir(out, known=OUTPUT_FILES, clean=clean)


def _posts_csv(result: PlanResult) -> pd.DataFrame:
    posts = result.posts
    lonlat = posts.geometry.to_crs(WGS84)
    table = pd.DataFrame(flat_lists(posts).drop(columns="geometry"))
    table["lat"] = lonlat.y.round(6).to_numpy()
    table["lon"] = lonlat.x.round(6).to_numpy()
    names = result.schools.set_index("school_id")["name"] if "name" in result.schools else None
    if names is not None:
        table["school_name"] = table["school_id"].map(names.astype(str)).fillna("").to_numpy()
    return table


def _staff_csv(result: PlanResult) -> pd.DataFrame:
    """The workers table as the roster read it, with ``cleared`` and ``floater`` flags."""
    workers = result.inputs.workers
    assert workers is not None
    keep = [c for c in STAFF_INPUT_COLUMNS if c in workers]
    table = flat_lists(workers[keep].reset_index(drop=True))
    staff = result.staff.reset_index(drop=True)
    table["name"], table["phone"] = staff["name"], staff["phone"]
    cleared = result.cleared
    table["cleared"] = True if cleared is None else cleared.to_numpy()
    floaters = set(result.roster_result.floaters) if result.roster_result else set()
    table["floater"] = table["worker_id"].astype(str).isin(floaters)
    return table


def _layers(result: PlanResult) -> dict[str, gpd.GeoDataFrame]:
    """The GeoPackage layers, by name (list cells as ``;``-joined text)."""
    from .report import roster_layer

    layers = {
        "risk": result.risk.to_geodataframe(result.network),
        "corridors": result.corridors,
        "posts": result.posts,
        "origins": result.origins,
        "schools": result.schools,
        "roster": roster_layer(result.posts, result.roster, result.windows),
    }
    designated = result.inputs.designated_routes
    if designated is not None:
        planned = designated["school_id"].isin(set(result.schools["school_id"]))
        layers["designated"] = designated[planned].reset_index(drop=True)
    for name in ("review", "uncovered", "extensions"):
        if (table := getattr(result, name)) is not None:
            layers[name] = table
    return layers


def _table(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """A layer as a CSV table: no geometry, list cells ``;``-joined."""
    return pd.DataFrame(flat_lists(layer.drop(columns="geometry")))


def write_outputs(result: PlanResult, out: Path) -> Path:
    """Write every output of ``result`` into ``out`` (replaced only on success).

    Raises
    ------
    OutputFolderError
        If ``out`` is not new, empty or a previous plan output (see
        :func:`check_output_folder`).
    """
    from .report import partner_csv, write_manifest
    from .summary import plan_summary

    cfg = result.config
    with atomic_output_dir(out, known=OUTPUT_FILES) as tmp:
        for layer, table in _layers(result).items():
            gpd.GeoDataFrame(flat_lists(table)).to_file(
                tmp / "plan.gpkg", layer=layer, driver="GPKG"
            )
        _posts_csv(result).to_csv(tmp / "posts.csv", index=False)
        result.needs.to_csv(tmp / "staffing_needs.csv", index=False)
        partner = tmp / "partner"
        partner.mkdir()
        if result.roster_result is not None:
            result.roster_result.assignments.to_csv(tmp / "roster.csv", index=False)
            result.roster_result.unfilled.to_csv(tmp / "unfilled.csv", index=False)
            result.floaters.to_csv(tmp / "floaters.csv", index=False)
            _staff_csv(result).to_csv(tmp / "staff.csv", index=False)
            flat_lists(result.vendors).to_csv(tmp / "vendors.csv", index=False)
            if result.walk is not None:
                result.walk.table().to_csv(tmp / "post_walks.csv", index=False)
            partner_csv(result.roster_result.assignments, result.posts).to_csv(
                partner / "partner.csv", index=False
            )
        if result.comparison is not None:
            result.comparison.to_csv(tmp / "comparison.csv", index=False)
        if result.review is not None and result.extensions is not None:
            _table(result.review).to_csv(tmp / "route_review.csv", index=False)
            _table(result.extensions).to_csv(tmp / "extensions.csv", index=False)
        (tmp / "summary.md").write_text(plan_summary(result), encoding="utf-8")
        if cfg.output.html:
            from .maps.web import plan_map, save_map

            offline = cfg.output.self_contained
            save_map(
                plan_map(result, self_contained=offline), tmp / "map.html", self_contained=offline
            )
        if cfg.output.pdf and result.roster_result is not None:
            write_packets(result, partner)
        inputs = _inputs(result)
        write_manifest(
            tmp / "manifest.json",
            config=cfg.to_dict(),
            inputs=inputs,
            seed=cfg.seed,
            stage_timings=result.timings,
            metrics=result.metrics,
        )
    logger.info("outputs written to %s", out)
    return out


def write_packets(result: PlanResult, folder: Path, *, workers: int = PACKET_WORKERS) -> list[Path]:
    """Write each vendor's PDF post packet, ``folder/posts_<vendor_id>.pdf``, in vendor order.

    A vendor with no school in this plan gets no packet.  The packets are
    independent, so up to ``workers`` local processes write them (forked where
    the platform allows: the plan is not copied).  Each file is written
    atomically; on any exception, Ctrl-C included, the workers are stopped
    (see :mod:`safepassage.executor`).

    Returns
    -------
    list of pathlib.Path
        The packets written.
    """
    jobs = [
        (str(vendor_id), folder / f"posts_{vendor_id}.pdf")
        for vendor_id, school_ids in result.vendors[["vendor_id", "school_ids"]].itertuples(
            index=False
        )
        if len(school_ids)
    ]
    executor = make_executor(min(workers, os.cpu_count() or 1, len(jobs)))
    try:
        return executor.map(_write_packet, result, jobs)
    finally:
        executor.close()


def _write_packet(result: PlanResult, job: tuple[str, Path]) -> Path:
    from .maps.printed import post_packet

    return post_packet(result, *job)


def _inputs(result: PlanResult) -> list[Path]:
    """Every input file the config names (community areas and style routes included),
    each once."""
    named = [*result.config.data.input_files(), *result.config.routes.style_routes]
    unique = dict.fromkeys(Path(p) for p in named)
    return [p for p in unique if p.is_file()]
