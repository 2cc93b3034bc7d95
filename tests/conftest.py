"""Shared fixtures: tiny hand-made networks and the shared Chicago data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from safepassage.config import default_data_root
from safepassage.routes.network import WalkNetwork

CHICAGO_EPSG = 26916


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = default_data_root(Path(__file__).parent)
    if not (root / "osm").is_dir():
        pytest.skip(f"shared Chicago data not found at {root} (set SAFEPASSAGE_DATA)")
    return root


def grid_lines(n: int = 5, spacing_m: float = 100.0) -> gpd.GeoDataFrame:
    """An n x n street grid: n horizontal and n vertical streets, in EPSG:26916."""
    x0, y0 = 440_000.0, 4_630_000.0
    span = (n - 1) * spacing_m
    lines, names = [], []
    for i in range(n):
        off = i * spacing_m
        lines.append(shapely.LineString([(x0, y0 + off), (x0 + span, y0 + off)]))
        names.append(f"E-W {i}")
        lines.append(shapely.LineString([(x0 + off, y0), (x0 + off, y0 + span)]))
        names.append(f"N-S {i}")
    return gpd.GeoDataFrame({"name": names}, geometry=lines, crs=CHICAGO_EPSG)


@pytest.fixture(scope="session")
def grid() -> WalkNetwork:
    """5 x 5 grid, 100 m blocks: 25 nodes, 40 street segments, 80 directed edges."""
    return WalkNetwork.from_centerlines(grid_lines())


# (name, highway, points in metres from the origin); Chicago numbers its streets southward
BLOCK = [
    ("South Halsted Street", "secondary", [(0, 0), (0, 600)]),
    ("West 64th Street", "residential", [(0, 0), (300, 0)]),
    ("West 63rd Street", "residential", [(0, 200), (300, 200)]),
    # Green St has two carriageways 10 m apart
    ("South Green Street", "residential", [(200, 0), (200, 200)]),
    ("South Green Street", "residential", [(210, 0), (210, 200)]),
    # alleys off Halsted: two between 63rd and 64th, one north of 63rd
    ("", "alley", [(0, 120), (150, 120)]),
    ("", "alley", [(0, 60), (100, 60)]),
    ("", "alley", [(0, 280), (100, 280)]),
    # a footway from the alley's end: a node where only unnamed ways meet
    ("", "footway", [(150, 120), (150, 170)]),
    # a named stub meeting no other street
    ("West 62nd Place", "residential", [(50, 400), (150, 400)]),
]


@pytest.fixture(scope="session")
def block() -> WalkNetwork:
    """Halsted St between 63rd and 64th with alleys off it (labels of mid-block nodes)."""
    x0, y0 = 440_000.0, 4_630_000.0
    lines = gpd.GeoDataFrame(
        {"name": [n for n, _, _ in BLOCK], "highway": [h for _, h, _ in BLOCK]},
        geometry=[
            shapely.LineString([(x0 + x, y0 + y) for x, y in points]) for _, _, points in BLOCK
        ],
        crs=CHICAGO_EPSG,
    )
    return WalkNetwork.from_centerlines(lines)


@pytest.fixture(scope="session")
def englewood(data_root: Path) -> WalkNetwork:
    return WalkNetwork.from_graphml(data_root / "osm" / "chicago_walk_2019_englewood.graphml.gz")


@pytest.fixture(scope="session")
def west_englewood(data_root: Path) -> WalkNetwork:
    return WalkNetwork.from_graphml(
        data_root / "osm" / "chicago_walk_2019_west_englewood.graphml.gz"
    )


@pytest.fixture(scope="session")
def network_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One stage cache for the tests that plan on the shared data (the citywide
    network is parsed once per session, then read from here).  It is the default
    cache folder of ``XDG_CACHE_HOME`` = its parent, for the notebook's kernel."""
    folder = tmp_path_factory.mktemp("xdg") / "safepassage"
    folder.mkdir()
    return folder
