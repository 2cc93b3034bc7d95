"""The whole plan for every SY1617 Safe Passage school with a published route, citywide.

Run: ``.venv/bin/python bench/pipeline.py [--data DIR] [--workers 2] [--skip-serial]``.

Inputs: the stitched citywide walk network, 2016 gun crimes and the 2013-2018
homicides, census tracts (tract population = sum of its blocks) for origins,
the official SY1617 routes for the school list and the comparison.  Vendors
and workers are SYNTHETIC (22 vendors, 8 workers per school), written for this
benchmark.  The plan runs once serially and once with ``--workers`` local
processes; the script checks both give the same posts and prints the ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_data_argument, peak_rss_mb, resolve_data_root, write_staff

from safepassage.config import config_from_dict
from safepassage.io import read_routes
from safepassage.pipeline import plan


def synthetic_staff(root: Path, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """22 vendors over the Safe Passage schools, 8 workers per school (SYNTHETIC)."""
    routes = read_routes(
        root / "safe_passage" / "safe_passage_routes_SY1617.geojson.gz", crs="EPSG:26916"
    )
    schools = sorted(routes["school_id"].astype(str).unique())
    rng = np.random.default_rng(seed)
    groups = np.array_split(np.array(schools), 22)
    vendors = pd.DataFrame(
        {
            "vendor_id": [f"V{i + 1:02d}" for i in range(len(groups))],
            "name": [f"Synthetic vendor {i + 1}" for i in range(len(groups))],
            "school_ids": [";".join(g) for g in groups],
        }
    )
    rows = []
    for vendor_id, group in zip(vendors["vendor_id"], groups, strict=True):
        for k in range(8 * len(group)):
            days = "Mon;Tue;Wed;Thu;Fri" if rng.random() > 0.2 else "Mon;Tue;Wed;Thu"
            rows.append((f"{vendor_id}-{k:03d}", vendor_id, days, "am;pm", 300, 5))
    return write_staff(folder, vendors, rows)


def config(root: Path, folder: Path, vendors: Path, workers: Path) -> object:
    raw = {
        "plan": {"name": "citywide-sy1617", "seed": 1617, "date": "2016-10-03"},
        "data": {
            "networks": [str(root / "osm/chicago_walk_2019_77_community_areas_union.graphml.gz")],
            "schools": str(root / "schools/CPS_School_Locations_SY1617.geojson.gz"),
            "profiles": str(root / "schools/CPS_School_Profile_SY1617.csv.gz"),
            "incidents": [str(root / "crime/gun_crimes_2016_citywide.csv.gz")],
            "homicides": str(root / "crime/homicides_2013-2018_citywide.csv.gz"),
            "population": str(root / "census/population_by_2010_census_block.csv.gz"),
            "blocks": str(root / "boundaries/census_tracts_2010.geojson.gz"),
            "reference_routes": str(root / "safe_passage/safe_passage_routes_SY1617.geojson.gz"),
            "vendors": str(vendors),
            "workers": str(workers),
            "cache_dir": str(Path(tempfile.gettempdir()) / "safepassage-bench" / "pipeline-cache"),
        },
        "schools": {"safe_passage_year": "SY1617"},
        "posts": {"per_school": 8},
        "staffing": {"time_limit_s": 30, "num_workers": 2},
        "output": {"dir": str(folder / "out"), "html": True, "pdf": False},
    }
    return config_from_dict(raw, config_path=folder / "bench.toml")


def run(cfg: object, workers: int, out: Path) -> tuple[float, object]:
    started = time.perf_counter()
    result = plan(cfg, out=out, workers=workers)  # type: ignore[arg-type]
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-serial", action="store_true")
    args = parser.parse_args()
    root = resolve_data_root(args.data)
    folder = Path(tempfile.mkdtemp(prefix="safepassage-bench-pipeline-"))
    vendors, workers = synthetic_staff(root, folder)
    cfg = config(root, folder, vendors, workers)
    # warm the network cache once so both timed runs start alike
    warm_s, _ = 0.0, None
    cache = Path(cfg.data.cache_dir)  # type: ignore[attr-defined]
    if not any(cache.glob("network-*")):
        from safepassage.stages import load_network

        t0 = time.perf_counter()
        load_network(cfg.data, cfg.network)  # type: ignore[attr-defined]
        warm_s = time.perf_counter() - t0
    parallel_s, parallel = run(cfg, args.workers, folder / "out-parallel")
    print(f"network cache built in {warm_s:.1f} s (not counted)" if warm_s else "network cached")
    print(f"plan with --workers {args.workers}: {parallel_s:.1f} s")
    for stage, seconds in parallel.timings.items():  # type: ignore[attr-defined]
        print(f"  {stage:<10} {seconds:7.2f} s")
    print("metrics:", parallel.metrics)  # type: ignore[attr-defined]
    if not args.skip_serial:
        serial_s, serial = run(cfg, 1, folder / "out-serial")
        same = serial.posts.drop(columns="geometry").equals(  # type: ignore[attr-defined]
            parallel.posts.drop(columns="geometry")  # type: ignore[attr-defined]
        )
        for stage, seconds in serial.timings.items():  # type: ignore[attr-defined]
            print(f"  serial {stage:<10} {seconds:7.2f} s")
        print(
            f"plan serial: {serial_s:.1f} s; ratio serial / --workers {args.workers}: "
            f"{serial_s / parallel_s:.2f}x; identical posts: {same}"
        )
    print(f"peak memory {peak_rss_mb():,.0f} MiB; outputs in {folder}")


if __name__ == "__main__":
    main()
