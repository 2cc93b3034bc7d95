"""Where students walk from: population to aggregated origins per school.

Pipeline of this module:

1. :func:`census_population` joins census block counts to block or tract polygons.
2. :func:`node_population` spreads each polygon's population along the
   residential street length inside it and puts it on network nodes.
3. :func:`allocate_students` turns node population into students of each
   school: a *capacity-constrained gravity* (Huff) model.  Families choose
   among the schools of the right grade band within walking distance, nearer
   schools and larger schools being likelier (weight ``capacity * exp(-d / s)``),
   and balancing factors cut a school's draw to its enrollment.  Gravity
   rather than "nearest school" because Chicago families choose schools; the
   capacity constraint because no school can draw more students than it enrolls.
4. :func:`aggregate_origins` sums students per school over square cells,
   merges cells holding fewer than ``min_students`` into their nearest
   neighbour and drops what stays below it: origins are aggregates, never
   students.  Input points never leave this module.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..errors import DataError, MissingColumnError
from .network import WalkNetwork

__all__ = [
    "DEFAULT_BAND_SHARE",
    "DEFAULT_RADIUS_M",
    "RESIDENTIAL_CLASSES",
    "OriginSet",
    "aggregate_origins",
    "allocate_students",
    "census_population",
    "estimate_origins",
    "node_population",
    "origins_from_enrollment",
    "school_bands",
    "street_length_per_node",
]

logger = logging.getLogger(__name__)

RESIDENTIAL_CLASSES = frozenset(
    {"residential", "living_street", "unclassified", "tertiary", "secondary", "primary"}
)
# Walk radius by grade band, metres of network distance.
DEFAULT_RADIUS_M: Mapping[str, float] = {"elementary": 2400.0, "high": 3200.0}
# Share of the census population that are public-school students of each band
# (Chicago 2010: ages 5-13 about 11%, 14-17 about 5%); enrollment caps correct it.
DEFAULT_BAND_SHARE: Mapping[str, float] = {"elementary": 0.11, "high": 0.05}
_CHUNK = 32  # schools per Dijkstra batch


@dataclass(frozen=True)
class OriginSet:
    """Aggregated student origins and the per-school problems met.

    Attributes
    ----------
    origins
        GeoDataFrame: ``origin_id``, ``school_id``, ``students`` (int, at
        least ``min_students``), ``node``, geometry (the node's point).
    demand
        DataFrame of the unaggregated allocation: ``school_id``, ``node``,
        ``students`` (float). Stays in memory; never exported.
    problems
        DataFrame ``school_id``, ``problem``: schools that could not be served.
    """

    origins: gpd.GeoDataFrame
    demand: pd.DataFrame = field(repr=False)
    problems: pd.DataFrame


# census polygon kinds: the key column of each and how many digits of a block code it keeps
CENSUS_KEYS = {"tract_bloc": 10, "tractce10": 6}


def census_population(
    polygons: gpd.GeoDataFrame,
    population: pd.DataFrame,
    *,
    code_column: str = "CENSUS BLOCK",
    count_column: str = "TOTAL POPULATION",
    sources: tuple[str, str] = ("polygons", "population table"),
) -> gpd.GeoDataFrame:
    """Join census block population counts to block or tract polygons.

    Blocks are keyed by ``tract_bloc`` (tract + block, 10 digits), tracts by
    ``tractce10`` (6 digits: a tract's population is the sum of its blocks); other
    polygons by a ``block`` column (a config mapping), matched to the table's
    ``block`` codes as they are written.
    The City of Chicago file codes a block as tract (6 digits) + block
    (4 digits) with leading zeros dropped: codes are zero-padded to 10.

    ``sources`` names the polygons' file and the table's, for messages.

    Returns
    -------
    GeoDataFrame
        ``polygons`` with a ``population`` column (0 where the code is absent).

    Raises
    ------
    MissingColumnError
        When the polygons have neither key or the table lacks its columns.
    """
    key = next((k for k in (*CENSUS_KEYS, "block") if k in polygons.columns), None)
    if key is None:
        raise MissingColumnError([*CENSUS_KEYS, "block"], found=polygons.columns, source=sources[0])
    code_column = "block" if "block" in population.columns else code_column
    count_column = "population" if "population" in population.columns else count_column
    for column in (code_column, count_column):
        if column not in population.columns:
            raise MissingColumnError([column], found=population.columns, source=sources[1])
    counts = pd.to_numeric(population[count_column], errors="coerce").fillna(0)
    codes = population[code_column].astype(str).str.strip()
    keys = polygons[key].astype(str).str.strip()
    if key in CENSUS_KEYS:  # Chicago block codes: zero-padded, cut to the polygons' level
        digits = CENSUS_KEYS[key]
        codes = codes.str.zfill(10).str[:digits]
        keys = keys.str.zfill(digits)
    lookup = pd.Series(counts.to_numpy(), index=codes.to_numpy()).groupby(level=0).sum()
    matched = keys.isin(lookup.index)
    if len(keys) and len(lookup) and not matched.any():
        raise DataError(
            f"{sources[1]}: no code of column {code_column!r} matches a polygon of "
            f"{sources[0]} (column {key!r}); codes are e.g. {list(lookup.index[:3])} and "
            f"{list(keys[:3])}: check that the columns (and the polygons) belong together"
        )
    return polygons.assign(population=keys.map(lookup).fillna(0.0).to_numpy())


def node_population(
    network: WalkNetwork,
    polygons: gpd.GeoDataFrame,
    *,
    population_column: str = "population",
    residential_classes: frozenset[str] = RESIDENTIAL_CLASSES,
    outside_m: float = 200.0,
) -> NDArray[np.float64]:
    """Spread each polygon's population along its residential streets onto nodes.

    Each undirected residential segment whose midpoint lies in a polygon gets
    the polygon's population in proportion to its length, split evenly
    between its two end nodes.  A populated polygon with no such segment puts
    its population on the node nearest its representative point.  A polygon
    whose representative point lies farther than ``outside_m`` from every node
    is outside the network's area and left out.

    Returns
    -------
    numpy.ndarray
        Population per node (aligned with ``network.nodes``).
    """
    if population_column not in polygons.columns:
        raise MissingColumnError([population_column], found=polygons.columns, source="polygons")
    if polygons.crs is None:
        raise DataError("population polygons have no CRS; set one (EPSG:4326 for lon/lat)")
    polys = polygons.to_crs(network.crs).reset_index(drop=True)
    inside = polys.geometry.representative_point()
    gap, _ = network.node_tree.query(np.column_stack([inside.x, inside.y]))
    polys = polys[gap <= outside_m].reset_index(drop=True)
    edges = network.edges
    forward = edges[(edges["u"] < edges["v"]) & edges["highway"].isin(residential_classes)]
    mids = shapely.line_interpolate_point(forward.geometry.values, 0.5, normalized=True)
    edge_pos, poly_idx = shapely.STRtree(polys.geometry.values).query(mids, predicate="within")
    pop = np.zeros(len(network.nodes))
    length = forward["length"].to_numpy()[edge_pos]
    total = np.bincount(poly_idx, weights=length, minlength=len(polys))
    counts = polys[population_column].to_numpy(dtype=np.float64)
    share = counts[poly_idx] * length / np.where(total[poly_idx] > 0, total[poly_idx], 1.0)
    np.add.at(pop, forward["u"].to_numpy()[edge_pos], share / 2)
    np.add.at(pop, forward["v"].to_numpy()[edge_pos], share / 2)
    orphan = np.flatnonzero((total == 0) & (counts > 0))
    if orphan.size:
        points = polys.geometry.iloc[orphan].representative_point()
        xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
        _, nearest = network.node_tree.query(xy)
        np.add.at(pop, nearest, counts[orphan])
    return pop


def school_bands(schools: pd.DataFrame) -> pd.Series:
    """Grade band per school: ``elementary``, ``high`` or ``both``.

    Uses ``grade_band`` when present, else ``grades`` text (K-8 -> elementary,
    9-12 -> high, both when a school spans them).
    """
    if "grade_band" in schools.columns:
        return schools["grade_band"].fillna("elementary").astype(str)
    if "grades" not in schools.columns:
        return pd.Series("elementary", index=schools.index)

    def band(text: object) -> str:
        tokens = {t.strip().upper() for t in str(text).replace("-", ",").split(",")}
        high = bool(tokens & {"9", "10", "11", "12"})
        low = bool(tokens & {"PK", "K", "1", "2", "3", "4", "5", "6", "7", "8"})
        return "both" if high and low else "high" if high else "elementary"

    return schools["grades"].map(band)


def allocate_students(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    population: NDArray[np.float64],
    *,
    radius_m: Mapping[str, float] = DEFAULT_RADIUS_M,
    band_share: Mapping[str, float] = DEFAULT_BAND_SHARE,
    distance_scale_m: float = 800.0,
    iterations: int = 30,
) -> pd.DataFrame:
    """Students of each school at each node (capacity-constrained gravity model).

    Parameters
    ----------
    schools
        Needs ``school_id``, ``node`` (snapped node, -1 when unsnapped),
        ``enrollment`` (capacity; missing -> no cap) and a grade band (see
        :func:`school_bands`).
    population
        Population per node (:func:`node_population`).
    radius_m
        Walk radius by band, network metres.
    band_share
        Share of the population that are students of each band.
    distance_scale_m
        Decay scale ``s`` of the weight ``capacity * exp(-d / s)``.

    Returns
    -------
    DataFrame
        ``school_id``, ``node``, ``distance_m``, ``students`` (float).
    """
    for band, radius in radius_m.items():
        if radius <= 0:
            raise DataError(f"walk radius for {band} must be > 0 m, got {radius}")
    bands = school_bands(schools)
    parts = []
    for band in ("elementary", "high"):
        chosen = schools[(bands == band) | (bands == "both")]
        chosen = chosen[chosen["node"] >= 0]
        if chosen.empty:
            continue
        demand = population * float(band_share.get(band, 0.0))
        parts.append(
            _gravity(
                network,
                chosen,
                demand,
                float(radius_m.get(band, 2400.0)),
                distance_scale_m,
                iterations,
            )
        )
    if not parts:
        return pd.DataFrame(columns=["school_id", "node", "distance_m", "students"])
    table = pd.concat(parts, ignore_index=True)
    return table.groupby(["school_id", "node"], as_index=False).agg(
        distance_m=("distance_m", "min"), students=("students", "sum")
    )


def _gravity(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    demand: NDArray[np.float64],
    radius_m: float,
    scale_m: float,
    iterations: int,
) -> pd.DataFrame:
    nodes = schools["node"].to_numpy(dtype=np.int64)
    school_parts, node_parts, dist_parts = [], [], []
    populated = demand > 0
    for start in range(0, len(nodes), _CHUNK):  # bounded memory on a citywide network
        dist_rows = network.shortest_paths(
            nodes[start : start + _CHUNK], limit_m=radius_m, reverse=True, paths=False
        ).distances
        rows, cols = np.nonzero(np.isfinite(dist_rows) & populated[None, :])
        school_parts.append(rows + start)
        node_parts.append(cols)
        dist_parts.append(dist_rows[rows, cols])
    school_idx = np.concatenate(school_parts)
    node_idx = np.concatenate(node_parts)
    dist = np.concatenate(dist_parts)
    if "enrollment" in schools.columns:
        capacity = pd.to_numeric(schools["enrollment"], errors="coerce")
        cap = np.nan_to_num(capacity.to_numpy(dtype=np.float64), nan=np.inf)
    else:  # no enrollment known: no cap
        cap = np.full(len(schools), np.inf)
    attract = np.where(np.isfinite(cap), np.maximum(cap, 1.0), 500.0)
    balance = np.ones(len(schools))
    for _ in range(iterations):
        weight = balance[school_idx] * attract[school_idx] * np.exp(-dist / scale_m)
        total = np.bincount(node_idx, weights=weight, minlength=len(demand))
        # a node whose only schools are full (balance 0) sends no one
        share = np.divide(
            weight, total[node_idx], out=np.zeros_like(weight), where=total[node_idx] > 0
        )
        students = demand[node_idx] * share
        drawn = np.bincount(school_idx, weights=students, minlength=len(schools))
        over = drawn > cap * 1.001
        if not over.any():
            break
        balance[over] *= cap[over] / drawn[over]
    # students beyond a full school's capacity stay unallocated (they go elsewhere)
    scale = np.where(drawn > cap, cap / np.maximum(drawn, 1e-9), 1.0)
    students = students * scale[school_idx]
    return pd.DataFrame(
        {
            "school_id": schools["school_id"].astype(str).to_numpy()[school_idx],
            "node": node_idx.astype(np.int64),
            "distance_m": dist,
            "students": students,
        }
    )


def aggregate_origins(
    network: WalkNetwork,
    demand: pd.DataFrame,
    *,
    cell_m: float = 250.0,
    min_students: int = 10,
) -> gpd.GeoDataFrame:
    """Sum students per school over square cells; merge or drop cells below ``min_students``.

    Returns
    -------
    GeoDataFrame
        ``origin_id`` (``<school_id>-<n>``), ``school_id``, ``students``
        (int >= ``min_students``), ``node`` (the cell's busiest node),
        geometry (that node's point).
    """
    if cell_m <= 0:
        raise DataError(f"cell_m must be > 0, got {cell_m}")
    if min_students < 1:
        raise DataError(f"min_students must be >= 1, got {min_students}")
    xy = network.nodes[["x", "y"]].to_numpy()
    rows = []
    for school_id, part in demand.groupby("school_id", sort=True):
        rows.extend(_school_cells(str(school_id), part, xy, cell_m, min_students))
    table = pd.DataFrame(rows, columns=["origin_id", "school_id", "students", "node"])
    table["students"] = table["students"].astype(np.int64)
    table["node"] = table["node"].astype(np.int64)
    geometry = shapely.points(xy[table["node"].to_numpy()]) if len(table) else []
    return gpd.GeoDataFrame(table, geometry=geometry, crs=network.crs)


def _school_cells(
    school_id: str, part: pd.DataFrame, xy: NDArray[np.float64], cell_m: float, min_students: int
) -> list[tuple[str, str, int, int]]:
    nodes = part["node"].to_numpy()
    students = part["students"].to_numpy(dtype=np.float64)
    cells = np.floor(xy[nodes] / cell_m).astype(np.int64)
    keys, inverse = np.unique(cells, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    total = np.bincount(inverse, weights=students)
    # busiest node of each cell represents it
    order = np.lexsort((-students, inverse))
    first = order[np.r_[True, inverse[order][1:] != inverse[order][:-1]]]
    rep = np.empty(len(keys), dtype=np.int64)
    rep[inverse[first]] = nodes[first]
    centre = (keys + 0.5) * cell_m
    alive = total > 0
    # merge the smallest cell below the minimum into its nearest live cell, repeatedly
    while True:
        small = np.flatnonzero(alive & (total < min_students))
        if small.size == 0 or alive.sum() <= 1:
            break
        i = small[np.argmin(total[small])]
        others = np.flatnonzero(alive)
        others = others[others != i]
        j = others[np.argmin(np.hypot(*(centre[others] - centre[i]).T))]
        total[j] += total[i]
        alive[i] = False
    keep = np.flatnonzero(alive & (np.round(total) >= min_students))
    keep = keep[np.argsort(-total[keep], kind="stable")]
    return [
        (f"{school_id}-{n + 1}", school_id, round(total[k]), int(rep[k]))
        for n, k in enumerate(keep)
    ]


def estimate_origins(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    radius_m: Mapping[str, float] = DEFAULT_RADIUS_M,
    band_share: Mapping[str, float] = DEFAULT_BAND_SHARE,
    cell_m: float = 250.0,
    min_students: int = 10,
    competitors: gpd.GeoDataFrame | None = None,
) -> OriginSet:
    """Population polygons to aggregated origins per school (steps 2-4 of the module).

    ``schools`` needs ``school_id`` and ``node`` (from snapping); schools with
    node -1 or without any origin in range are listed in ``problems``.
    ``competitors`` are all the schools students choose among (the planned
    ones included); only the planned schools' origins are kept.  Without
    competitors a planned school would draw students who attend a nearby
    school outside the plan (bench/routes_reference.py: corridor F1 +0.05).
    """
    population = node_population(network, polygons)
    choice = schools
    if competitors is not None:
        others = competitors[
            ~competitors["school_id"].astype(str).isin(set(schools["school_id"].astype(str)))
        ]
        choice = pd.concat([schools, others[others["node"] >= 0]], ignore_index=True)
    demand = allocate_students(
        network, choice, population, radius_m=radius_m, band_share=band_share
    )
    demand = demand[demand["school_id"].isin(set(schools["school_id"].astype(str)))]
    return _origin_set(network, schools, demand, cell_m, min_students)


def _origin_set(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    demand: pd.DataFrame,
    cell_m: float,
    min_students: int,
) -> OriginSet:
    """Aggregate ``demand`` into origins and list the schools left without one."""
    origins = aggregate_origins(network, demand, cell_m=cell_m, min_students=min_students)
    problems = []
    served = set(origins["school_id"])
    for school_id, node in schools[["school_id", "node"]].itertuples(index=False):
        if node < 0:
            problems.append((str(school_id), "does not snap to a walkable street"))
        elif str(school_id) not in served:
            problems.append(
                (
                    str(school_id),
                    f"no origin of at least {min_students} students within its walk radius",
                )
            )
    logger.info("%d origins for %d schools", len(origins), len(served))
    return OriginSet(origins, demand, pd.DataFrame(problems, columns=["school_id", "problem"]))


def street_length_per_node(
    network: WalkNetwork, residential_classes: frozenset[str] = RESIDENTIAL_CLASSES
) -> NDArray[np.float64]:
    """Residential street length (m) per node: half of each undirected segment to each end.

    When no street is of a residential class (the classes are unknown, e.g. plain
    centrelines), every street counts.
    """
    edges = network.edges
    forward = edges[edges["u"] < edges["v"]]
    if "highway" in forward.columns:
        residential = forward["highway"].isin(residential_classes).to_numpy()
        if residential.any():
            forward = forward[residential]
    length = forward["length"].to_numpy(dtype=np.float64)
    per_node = np.zeros(len(network.nodes))
    np.add.at(per_node, forward["u"].to_numpy(), length / 2)
    np.add.at(per_node, forward["v"].to_numpy(), length / 2)
    return per_node


def origins_from_enrollment(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    *,
    radius_m: Mapping[str, float] = DEFAULT_RADIUS_M,
    cell_m: float = 250.0,
    min_students: int = 10,
) -> OriginSet:
    """Origins without population data: each school's enrollment spread along the
    residential street length within its walk radius (network distance).

    Every street counts when none has a residential class.  A school of grade band
    ``both`` takes the larger radius.  Each school keeps its own students (no
    competition between schools: without population there is nothing to share).

    Parameters
    ----------
    schools
        Needs ``school_id``, ``node`` (-1: unsnapped), ``enrollment`` (students;
        missing counts 0) and a grade band (:func:`school_bands`).
    radius_m
        Walk radius by band, network metres.
    """
    for band, walk_m in radius_m.items():
        if walk_m <= 0:
            raise DataError(f"walk radius for {band} must be > 0 m, got {walk_m}")
    length = street_length_per_node(network)
    bands = school_bands(schools).to_numpy()
    radius = np.array(
        [max(radius_m.values()) if b == "both" else float(radius_m.get(b, 2400.0)) for b in bands]
    )
    enrollment = pd.to_numeric(schools["enrollment"], errors="coerce").fillna(0.0)
    enrollment = np.clip(enrollment.to_numpy(dtype=np.float64), 0.0, None)
    nodes = schools["node"].to_numpy(dtype=np.int64)
    ids = schools["school_id"].astype(str).to_numpy()
    parts = []
    for r in sorted(set(radius[nodes >= 0])):
        chosen = np.flatnonzero((nodes >= 0) & (radius == r))
        for start in range(0, len(chosen), _CHUNK):
            batch = chosen[start : start + _CHUNK]
            dist = network.shortest_paths(
                nodes[batch], limit_m=float(r), reverse=True, paths=False
            ).distances
            for row, school in enumerate(batch):
                near = np.flatnonzero(np.isfinite(dist[row]) & (length > 0))
                total = length[near].sum()
                if total <= 0 or enrollment[school] <= 0:
                    continue
                parts.append(
                    pd.DataFrame(
                        {
                            "school_id": ids[school],
                            "node": near.astype(np.int64),
                            "distance_m": dist[row, near],
                            "students": enrollment[school] * length[near] / total,
                        }
                    )
                )
    columns = ["school_id", "node", "distance_m", "students"]
    demand = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return _origin_set(network, schools, demand, cell_m, min_students)
