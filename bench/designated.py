"""Every visible SY1617 designated route on the stitched citywide network, and the whole plan.

Run: ``.venv/bin/python bench/designated.py [--data DIR] [--workers 1] [--profile FILE]``.

Four figures, each against its goal:

* matching: :func:`safepassage.routes.matching.match_routes` on the 109 visible
  SY1617 route lines alone (no plan around it), timed, and the matched share of
  the route length, length-weighted over routes (goal >= 97 %);
* review: :func:`safepassage.routes.review.review_routes` on the plan's
  corridors and routes, timed on its own;
* the whole plan with its outputs (GeoPackage, CSVs, the web map and every
  vendor's PDF packet, as a planner runs it) from a warm network cache: goal
  < 60 s and < 3 GB on this 2-core machine, printed with the per-stage times
  and the output time split into map, PDFs and the rest;
* peak resident memory of this process (``VmHWM``) and of child processes.

"From the network cache" means the plan's own cache (``[data] cache_dir``,
keyed by the network files and the ``[network]`` tolerances, see
:func:`safepassage.stages.load_network`) already holds the stitched citywide
network, i.e. the second run of the plan.  When it is cold, this script builds
it first in a child process (the GraphML parse peaks at about 2.6 GB), so the
timed plan and the peak memory printed are those of a warm run.

Plan config (written here as a TOML-shaped dict): the citywide union graph,
schools of ``[schools] safe_passage_year = "SY1617"`` with the SY1617 routes as
both ``designated_routes`` and ``reference_routes`` (every visible route is a
designated corridor; no community-area filter), 2016 gun crimes and 2013-2018
homicides, census tract polygons with the block population (the only citywide
polygons in the data; the block polygons cover Englewood only), the Englewood
example's risk and routes settings, ``[posts]`` defaults (5.5 posts per km, no
cap).  The vacant-lot hazard layers of the Englewood example cover two areas
only and are left out.  Vendors and workers are SYNTHETIC (22 vendors; each
school gets 1.15 x the posts its route length allows, so there are workers for
every post and the 10 % floaters), written for this benchmark.

There is no baseline here: the goals are absolute.  Timings move between runs
on this shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import multiprocessing
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import (
    add_data_argument,
    peak_rss_mb,
    resolve_data_root,
    synthetic_workers,
    timed,
    write_staff,
)

import safepassage.maps.web
import safepassage.outputs
from safepassage.config import PlanConfig, config_from_dict
from safepassage.io import read_routes, read_schools
from safepassage.pipeline import plan
from safepassage.result import PlanResult
from safepassage.routes.matching import MatchOptions, match_routes
from safepassage.routes.network import WalkNetwork
from safepassage.routes.review import review_routes
from safepassage.schedule import WINDOWS
from safepassage.stages import load_network, window_risk

ROUTES = "safe_passage/safe_passage_routes_SY1617.geojson.gz"
SCHOOLS = "schools/CPS_School_Locations_SY1617.geojson.gz"
CACHE = Path(tempfile.gettempdir()) / "safepassage-bench" / "designated-cache"
GOAL_S, GOAL_MB, GOAL_SHARE = 60.0, 3 * 1024.0, 0.97
N_VENDORS = 22
PER_KM = 5.5  # [posts] per_km default
STAFF_FACTOR = 1.15  # workers per post budget: the 10 % floaters and a little slack


def synthetic_staff(root: Path, folder: Path, seed: int = 1617) -> tuple[Path, Path]:
    """SYNTHETIC vendors and workers sized by each school's SY1617 route length.

    22 vendors over the schools (sorted ids in contiguous groups); a school gets
    ``ceil(1.15 * ceil(5.5 * route km))`` workers, most Mon-Fri and both windows;
    like :mod:`safepassage.staffing.synthetic`, about 15 % miss a weekday and 10 %
    work mornings or afternoons only.
    """
    routes = read_routes(root / ROUTES, crs="EPSG:26916")
    km = routes.geometry.length.groupby(routes["school_id"].astype(str)).sum() / 1000
    known = set(read_schools(root / SCHOOLS, crs="EPSG:26916")["school_id"].astype(str))
    schools = sorted(s for s in km.index if s in known)  # 2 route ids are in no schools file
    groups = np.array_split(np.array(schools), N_VENDORS)
    vendors = pd.DataFrame(
        {
            "vendor_id": [f"V{i + 1:02d}" for i in range(len(groups))],
            "name": [f"Synthetic vendor {i + 1}" for i in range(len(groups))],
            "school_ids": [";".join(g) for g in groups],
        }
    )
    rng = np.random.default_rng(seed)
    rows = []
    for vendor_id, group in zip(vendors["vendor_id"], groups, strict=True):
        n = sum(math.ceil(STAFF_FACTOR * math.ceil(PER_KM * km[s])) for s in group)
        rows += synthetic_workers(rng, vendor_id, n)
    return write_staff(folder, vendors, rows)


def config(root: Path, folder: Path, vendors: Path, workers: Path) -> PlanConfig:
    """The citywide SY1617 designated-routes plan (see the module docstring)."""
    raw = {
        "plan": {"name": "citywide-designated-sy1617", "seed": 20161, "date": "2016-10-03"},
        "data": {
            "networks": ["data:osm/chicago_walk_2019_77_community_areas_union.graphml.gz"],
            "schools": f"data:{SCHOOLS}",
            "profiles": "data:schools/CPS_School_Profile_SY1617.csv.gz",
            "incidents": ["data:crime/gun_crimes_2016_citywide.csv.gz"],
            "homicides": "data:crime/homicides_2013-2018_citywide.csv.gz",
            "population": "data:census/population_by_2010_census_block.csv.gz",
            "blocks": "data:boundaries/census_tracts_2010.geojson.gz",
            "community_areas": "data:boundaries/community_areas.geojson.gz",
            "reference_routes": f"data:{ROUTES}",
            "designated_routes": f"data:{ROUTES}",
            "vendors": str(vendors),
            "workers": str(workers),
            "cache_dir": str(CACHE),
        },
        "schools": {"safe_passage_year": "SY1617"},
        "windows": {"am": ["06:30", "09:00"], "pm": ["14:00", "17:30"]},
        "risk": {
            "bandwidth_m": 150,
            "category_weights": {"homicide": 5.0, "shooting": 3.0, "weapons": 1.5},
        },
        "routes": {"radius_elementary_m": 2400, "radius_high_m": 3200, "min_students": 10},
        "staffing": {"floater_share": 0.1, "time_limit_s": 30},
        "output": {"dir": str(folder / "out"), "html": True, "pdf": True},
    }
    return config_from_dict(raw, config_path=folder / "designated.toml", data_root=root)


def _warm_cache(cfg: PlanConfig) -> None:
    load_network(cfg.data, cfg.network)


def cache_is_warm(cfg: PlanConfig) -> bool:
    """Whether the plan's network cache holds a network (any key: one config here)."""
    return any(Path(cfg.data.cache_dir).glob("network-*/meta.json"))


class OutputClock:
    """Seconds spent in the web map, the PDF packets and GeoPackage layers while writing.

    Wraps the functions :func:`safepassage.outputs.write_outputs` calls or imports
    when it runs (module attributes, so the wrappers are what it calls); the
    packets are timed around :func:`safepassage.outputs.write_packets`, whose
    workers write them.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {"map": 0.0, "pdfs": 0.0, "gpkg": 0.0}
        self.packets = 0

    def _wrap(self, owner: Any, name: str, bucket: str) -> Callable[[], None]:
        original = getattr(owner, name)

        def clocked(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[bucket] += time.perf_counter() - started

        def counted(*args: Any, **kwargs: Any) -> Any:
            written = clocked(*args, **kwargs)
            self.packets += len(written)
            return written

        setattr(owner, name, counted if bucket == "pdfs" else clocked)
        return lambda: setattr(owner, name, original)

    @contextmanager
    def watching(self) -> Iterator[OutputClock]:
        import geopandas as gpd

        undo = [
            self._wrap(safepassage.maps.web, "plan_map", "map"),
            self._wrap(safepassage.maps.web, "save_map", "map"),
            self._wrap(safepassage.outputs, "write_packets", "pdfs"),
            self._wrap(gpd.GeoDataFrame, "to_file", "gpkg"),
        ]
        try:
            yield self
        finally:
            for restore in undo:
                restore()


def children_peak_mb() -> float:
    """Peak resident memory of the largest waited-for child process, MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _goal(ok: bool) -> str:
    return "met" if ok else "MISSED"


def bench_matching(cfg: PlanConfig, root: Path, network: WalkNetwork) -> None:
    """match_routes on the designated routes alone, and the length-weighted matched share."""
    routes = read_routes(root / ROUTES, crs=network.crs)
    options = MatchOptions(
        tolerance_m=cfg.routes.match_tolerance_m, max_gap_m=cfg.routes.match_gap_m
    )
    match_routes(network, routes.head(2), options)  # first call: STRtree, segments
    with timed() as clock:
        matched = match_routes(network, routes, options)
    share = float(matched["matched_m"].sum() / matched["route_m"].sum())
    print(
        f"[matching] {len(matched)} SY1617 routes, {matched['route_m'].sum() / 1000:.1f} km, "
        f"on {len(network.nodes):,} nodes / {len(network.edges):,} edges"
    )
    print(f"  match_routes           {clock.seconds:7.2f} s")
    print(
        f"  matched share          {share:7.5f}  of the route length (goal >= {GOAL_SHARE:.2f}: "
        f"{_goal(share >= GOAL_SHARE)}); median route {matched['matched_share'].median():.3f}, "
        f"10th percentile {matched['matched_share'].quantile(0.1):.3f}, "
        f"worst {matched['matched_share'].min():.3f}; "
        f"bridged {matched['bridged_m'].sum() / 1000:.1f} km"
    )
    sys.stdout.flush()


def bench_review(result: PlanResult) -> None:
    """review_routes on the plan's own corridors and routes, timed alone."""
    by_window = {w: window_risk(result.risk, w) for w in WINDOWS}
    with timed() as clock:
        designated = result.corridors[result.corridors["source"] == "designated"]
        review = review_routes(result.network, designated, result.routes, by_window)
    n = 0 if review is None else len(review.routes)
    print(f"[review] {n} designated corridors")
    print(f"  review_routes          {clock.seconds:7.2f} s")


def bench_plan(cfg: PlanConfig, out: Path, workers: int, profile: Path | None) -> PlanResult:
    """The whole plan with outputs, per-stage and output times, against the goals."""
    clock = OutputClock()
    profiler = cProfile.Profile() if profile else None
    with clock.watching(), timed() as wall:
        if profiler:
            profiler.enable()
        result = plan(cfg, out=out, workers=workers)
        if profiler:
            profiler.disable()
    if profiler and profile:
        profiler.dump_stats(profile)
    stages = sum(result.timings.values())
    writing = wall.seconds - stages
    m = result.metrics
    print(
        f"[plan] {m['schools']} schools, {m['corridors_designated']} designated + "
        f"{m['corridors_designed']} designed corridors, {m['corridor_km']} km, "
        f"{m['origins']:,} origins, {m['students_routed']:,} students"
    )
    print(
        f"  posts {m['posts_selected']:,} chosen of {m['posts_candidate']:,} "
        f"({m['post_solver']}); post-window-days staffed {m.get('post_windows_staffed', 0):,}, "
        f"unfilled {m.get('post_windows_unfilled', 0):,} ({m.get('roster_solver')})"
    )
    print(
        f"  reference recall {m.get('reference_recall')} precision {m.get('reference_precision')}"
    )
    for stage, seconds in result.timings.items():
        print(f"  {stage:<22} {seconds:7.2f} s")
    print(f"  {'stages total':<22} {stages:7.2f} s")
    print(f"  {'outputs':<22} {writing:7.2f} s")
    print(f"    {'web map':<20} {clock.seconds['map']:7.2f} s")
    print(f"    {'PDF packets':<20} {clock.seconds['pdfs']:7.2f} s  ({clock.packets} vendors)")
    print(f"    {'GeoPackage layers':<20} {clock.seconds['gpkg']:7.2f} s")
    rest = writing - sum(clock.seconds.values())
    print(f"    {'CSVs, manifest, rest':<20} {rest:7.2f} s")
    print(
        f"  whole plan with outputs {wall.seconds:6.2f} s  (goal < {GOAL_S:.0f} s: "
        f"{_goal(wall.seconds < GOAL_S)}); without PDFs and map "
        f"{wall.seconds - clock.seconds['pdfs'] - clock.seconds['map']:.2f} s"
    )
    sys.stdout.flush()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--workers", type=int, default=1, help="plan(workers=N)")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile stats of the plan")
    args = parser.parse_args()
    root = resolve_data_root(args.data)
    folder = Path(tempfile.mkdtemp(prefix="safepassage-bench-designated-"))
    vendors, workers = synthetic_staff(root, folder)
    cfg = config(root, folder, vendors, workers)
    if not cache_is_warm(cfg):
        with timed() as warm:
            child = multiprocessing.get_context("spawn").Process(target=_warm_cache, args=(cfg,))
            child.start()
            child.join()
        print(
            f"network cache built in a child process in {warm.seconds:.1f} s "
            f"(peak {children_peak_mb():,.0f} MiB; not counted)"
        )
    else:
        print(f"network cache warm ({CACHE})")
    print("timings are wall-clock on a 2-core machine shared with other test runs: noisy")
    result = bench_plan(cfg, folder / "out", args.workers, args.profile)
    peak = peak_rss_mb()
    print(
        f"  peak RSS after the plan {peak:,.0f} MiB (goal < {GOAL_MB:,.0f} MiB: "
        f"{_goal(peak < GOAL_MB)}); child processes {children_peak_mb():,.0f} MiB "
        "(a forked child starts at its parent's size)"
    )
    bench_matching(cfg, root, result.network)
    bench_review(result)
    print(f"peak RSS {peak_rss_mb():,.0f} MiB; outputs in {folder}")


if __name__ == "__main__":
    main()
