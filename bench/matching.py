"""Designated routes onto the citywide network: our vectorised matcher vs a per-route scan.

Run: ``.venv/bin/python bench/matching.py [--data DIR]``.

Ours: :func:`safepassage.routes.matching.match_routes` on every visible SY1617
route line (one STRtree query for all routes, then array operations).  Baseline:
the same rules per route with a plain scan (``GeoSeries.distance`` of every street
segment to the route, then the same share and angle tests), timed on a sample of
routes and extrapolated.  Both give the same segments on the sample (checked).
Also reports the matched share of the SY1617 and SY1516 lines and the SY1415
buffers (the share of each route's length within 20 m of its matched streets).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_data_argument, peak_rss_mb, resolve_data_root
from routes import citywide

from safepassage.io import read_routes
from safepassage.risk.kernel import street_segments
from safepassage.routes.matching import MatchOptions, match_routes

SAMPLE = 10


def scan_one(segments_geom: np.ndarray, route: shapely.Geometry, o: MatchOptions) -> set[int]:
    """The baseline: every segment's distance to the route, then the matcher's rules."""
    near = np.flatnonzero(shapely.distance(segments_geom, route) <= o.tolerance_m)
    keep = set()
    band = shapely.buffer(route, o.tolerance_m, cap_style="flat")
    for s in near:
        seg = segments_geom[s]
        share = shapely.length(shapely.intersection(seg, band)) / max(shapely.length(seg), 1e-9)
        mid = shapely.line_interpolate_point(seg, 0.5, normalized=True)
        at = shapely.line_locate_point(route, mid)
        a = shapely.line_interpolate_point(route, max(at - 5.0, 0.0))
        b = shapely.line_interpolate_point(route, at + 5.0)
        (x0, y0), (x1, y1) = seg.coords[0], seg.coords[-1]
        d1 = np.array([x1 - x0, y1 - y0])
        d2 = np.array([b.x - a.x, b.y - a.y])
        cos = abs(d1 @ d2) / max(np.linalg.norm(d1) * np.linalg.norm(d2), 1e-9)
        if share >= o.min_share and cos >= math.cos(math.radians(o.max_angle_deg)):
            keep.add(int(s))
    return keep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    args = parser.parse_args()
    root = resolve_data_root(args.data)
    net = citywide(root)
    folder = root / "safe_passage"
    sy1617 = read_routes(folder / "safe_passage_routes_SY1617.geojson.gz", crs=net.crs)
    print(f"network: {len(net.nodes):,} nodes, {len(net.edges):,} edges; {len(sy1617)} routes")

    options = MatchOptions(max_gap_m=0.0)  # the baseline has no bridging: compare like with like
    started = time.perf_counter()
    ours = match_routes(net, sy1617, options)
    ours_s = time.perf_counter() - started

    segments = street_segments(net)
    of_edge = {int(e): i for i, e in enumerate(segments.edge)}
    started = time.perf_counter()
    sample = [scan_one(segments.geometry, g, options) for g in sy1617.geometry.values[:SAMPLE]]
    scan_s = (time.perf_counter() - started) / SAMPLE * len(sy1617)
    same = all({of_edge[e] for e in ours["edge_ids"].iloc[i]} == sample[i] for i in range(SAMPLE))
    print(f"ours (all routes)          {ours_s:7.2f} s")
    print(
        f"per-route scan (extrap.)   {scan_s:7.2f} s  from {SAMPLE} routes; same segments: {same}"
    )
    print(f"ratio                      {scan_s / ours_s:7.1f}x")

    for name in (
        "safe_passage_routes_SY1617.geojson.gz",
        "safe_passage_routes_SY1516.geojson.gz",
        "safe_passage_buffers660ft_SY1415.geojson.gz",
    ):
        routes = read_routes(folder / name, crs=net.crs)
        started = time.perf_counter()
        matched = match_routes(net, routes)
        seconds = time.perf_counter() - started
        share = matched["matched_m"].sum() / matched["route_m"].sum()
        print(
            f"{name}: {len(matched)} {routes['kind'].iloc[0]}s in {seconds:.1f} s; matched "
            f"{share:.3f} of the length (median route {matched['matched_share'].median():.3f}, "
            f"10th percentile {matched['matched_share'].quantile(0.1):.3f}); "
            f"bridged {matched['bridged_m'].sum() / 1000:.1f} km"
        )
    print(f"peak memory {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
