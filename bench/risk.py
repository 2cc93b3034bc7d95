"""Benchmark the risk surface on the stitched citywide network with all 2016 gun crimes.

Prints (1) the time and peak memory of scoring, and (2) the Predictive Accuracy
Index (PAI) at 5% and 10% of street length when the surface is fit on
January-June 2016 and tested on July-December 2016, beside two baselines: a
uniform (random) ranking and a naive count of incidents within 50 m of each
edge.  Streets exclude alleys, service roads, footways and connectors; each
later incident is attributed to its nearest street within 50 m.

With ``--validate`` it also prints the grid that chose the geometric blend's
parameters: fit January-April, test May-June 2016 (nothing after June).

Usage: ``.venv/bin/python bench/risk.py [--data DIR] [--cache DIR] [--validate]``.  The
stitched network is cached (``WalkNetwork.save``) under ``--cache``, default
``/tmp/safepassage-bench/``: the first run takes ~30 s more.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safepassage.config import default_data_root
from safepassage.risk import Incidents, RiskModel, RiskSurface, evaluate, read_incidents, score
from safepassage.routes.network import WalkNetwork
from safepassage.routes.stitch import stitch

WINDOWS = {"am": ("06:30", "09:00"), "pm": ("14:00", "17:30"), "all": None}
CUT = pd.Timestamp("2016-07-01", tz="America/Chicago")
# The configuration we recommend (see the PAI table): snapped + 150 m Gaussian,
# homicides 2013-2015 added, one-year half-life.
OURS: dict[str, Any] = {"bandwidth_m": 150.0, "snap_share": 0.7, "half_life_days": 365.0}
# The same with the snapped and kernel rates mixed geometrically; snap_share and
# blend_floor chosen by --validate (fit Jan-Apr, test May-Jun 2016).
GEOMETRIC: dict[str, Any] = {**OURS, "snap_share": 0.2, "blend": "geometric", "blend_floor": 0.05}
VALIDATION_GRID = {"snap_share": (0.15, 0.2, 0.25, 0.3), "blend_floor": (0.02, 0.05, 0.1)}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_network(data: Path, cache: Path) -> WalkNetwork:
    folder = cache / "citywide_walk_stitched"
    if folder.is_dir():
        return WalkNetwork.load(folder)
    start = time.perf_counter()
    graphml = data / "osm" / "chicago_walk_2019_77_community_areas_union.graphml.gz"
    net = stitch(WalkNetwork.from_graphml(graphml))
    net.save(folder)
    print(f"built and cached the citywide network in {time.perf_counter() - start:.1f} s")
    return net


def combine(*parts: Incidents) -> Incidents:
    table = pd.concat([p.table for p in parts], ignore_index=True)
    return dataclasses.replace(parts[0], table=table)


def time_scoring(net: WalkNetwork, incidents: Incidents) -> None:
    print("\n== scoring: all 2016 gun crimes, windows am / pm / all-day ==")
    rows: list[tuple[str, float, float]] = []
    params: dict[str, Any]
    for name, params in (
        ("gaussian 150 m", {}),
        ("ours", {**OURS, "half_life_days": None}),
        ("ours geometric", {**GEOMETRIC, "half_life_days": None}),
    ):
        start = time.perf_counter()
        score(net, incidents, WINDOWS, model=RiskModel(**params))
        seconds = time.perf_counter() - start
        tracemalloc.start()
        score(net, incidents, WINDOWS, model=RiskModel(**params))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append((name, seconds, peak / 2**20))
    for name, seconds, peak_mb in rows:
        print(f"{name:16s} {seconds:6.2f} s   traced peak {peak_mb:7.0f} MB")
    print(f"process peak RSS so far: {peak_rss_mb():.0f} MB (includes the network)")


def pai_table(net: WalkNetwork, guns: Incidents, homicides: Incidents) -> pd.DataFrame:
    occurred = guns.table["occurred_at"]
    fit = guns.subset((occurred < CUT).to_numpy())
    later = guns.subset((occurred >= CUT).to_numpy())
    # homicides carry only a year: 2016 could fall after the cut, so fit on 2013-2015
    old_homicides = homicides.subset((homicides.table["year"] <= 2015).to_numpy())
    length = net.edges["length"].to_numpy()
    rng = np.random.default_rng(0)
    naive = score(net, fit, model=RiskModel(bandwidth_m=50.0, kernel="count", years=1.0)).risk(
        "all"
    )
    surfaces = {
        "uniform (random order)": RiskSurface.from_values(net, {"all": rng.random(len(length))}),
        "naive count within 50 m": RiskSurface.from_values(net, {"all": naive * length}),
        "naive count within 50 m per km": RiskSurface.from_values(net, {"all": naive}),
        "gaussian 150 m per km": score(net, fit),
        "ours: gun crimes only": score(
            net, fit, model=RiskModel(**{**OURS, "half_life_days": None})
        ),
        "ours: + homicides 2013-15, half-life 1 y": score(
            net, combine(fit, old_homicides), model=RiskModel(reference_date=CUT, **OURS)
        ),
        "ours geometric (snap 0.2, floor 0.05)": score(
            net, combine(fit, old_homicides), model=RiskModel(reference_date=CUT, **GEOMETRIC)
        ),
    }
    rows = []
    for name, surface in surfaces.items():
        result = evaluate(surface, net, later)
        rows.append(
            {
                "surface": name,
                "PAI@5%": result["pai"].iloc[0],
                "PAI@10%": result["pai"].iloc[1],
                "hit rate@5%": result["hit_rate"].iloc[0],
                "hit rate@10%": result["hit_rate"].iloc[1],
            }
        )
    counts = evaluate(surfaces["gaussian 150 m per km"], net, later).iloc[0]
    print(
        f"\nfit: {len(fit)} gun crimes Jan-Jun 2016 (+{len(old_homicides)} homicides 2013-15); "
        f"test: {counts['incidents_total']} Jul-Dec 2016, {counts['incidents']} within 50 m "
        "of a street"
    )
    return pd.DataFrame(rows)


def validation_table(net: WalkNetwork, guns: Incidents, homicides: Incidents) -> pd.DataFrame:
    """PAI on May-Jun 2016 of surfaces fit on Jan-Apr 2016 (+ homicides 2013-15).

    Chooses the geometric blend's parameters without touching Jul-Dec 2016.
    """
    occurred = guns.table["occurred_at"]
    cut = pd.Timestamp("2016-05-01", tz="America/Chicago")
    fit = guns.subset((occurred < cut).to_numpy())
    later = guns.subset(((occurred >= cut) & (occurred < CUT)).to_numpy())
    fit = combine(fit, homicides.subset((homicides.table["year"] <= 2015).to_numpy()))
    candidates: list[dict[str, Any]] = [{**OURS, "blend": "linear", "blend_floor": np.nan}]
    for share in VALIDATION_GRID["snap_share"]:
        for floor in VALIDATION_GRID["blend_floor"]:
            candidates.append({**GEOMETRIC, "snap_share": share, "blend_floor": floor})
    rows = []
    for params in candidates:
        result = evaluate(
            score(net, fit, model=RiskModel(reference_date=cut, **params)), net, later
        )
        rows.append(
            {
                "blend": params["blend"],
                "snap_share": params["snap_share"],
                "blend_floor": params["blend_floor"],
                "PAI@5%": result["pai"].iloc[0],
                "PAI@10%": result["pai"].iloc[1],
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, default=Path("/tmp/safepassage-bench"))
    parser.add_argument(
        "--validate", action="store_true", help="also print the Jan-Apr -> May-Jun grid"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    net = load_network(args.data, args.cache)
    print(f"network: {len(net.edges)} edges, loaded in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    guns = read_incidents(args.data / "crime" / "gun_crimes_2016_citywide.csv.gz", network=net)
    homicides = read_incidents(
        args.data / "crime" / "homicides_2013-2018_citywide.csv.gz", network=net
    )
    print(f"read {len(guns)} gun crimes in {time.perf_counter() - start:.2f} s; problems:")
    print(guns.problems[["problem", "count", "action"]].to_string(index=False))
    time_scoring(net, guns)
    print("\n== predictive check: fit Jan-Jun 2016, test Jul-Dec 2016 (streets only) ==")
    table = pai_table(net, guns, homicides)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.validate:
        print("\n== validation: fit Jan-Apr 2016, test May-Jun 2016 (chooses the blend) ==")
        grid = validation_table(net, guns, homicides)
        print(grid.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\npeak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
