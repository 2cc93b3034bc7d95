"""What lifts the learned route style's recall, and what does not: leave-one-area-out probes.

Run: ``.venv/bin/python bench/style_probes.py [--data DIR] [--only NAME ...]``
(about 20 minutes on 2 cores: each training probe is one full cross-validation).

The same leave-one-community-area-out folds as ``bench/routes_reference.py --cv``
(108 schools with a visible SY1617 route, 42 areas, the stitched citywide
network), scored the same way (recall and precision within 50 m, each school's
corridor at its official SY1617 length), for the learned style only.  Each
probe changes one thing against ``shipped`` (the package's features and
classifier, :mod:`safepassage.routes.style`):

* **training probes** retrain every fold: other labels, added or removed
  features, other classifier settings;
* **growth probes** keep the shipped probabilities of each held-out school and
  change how the corridor is grown from them (a street's best probability
  lent to its other segments; probabilities weighted toward a direction);
* **ceilings** use what a planner cannot know, to bound what is learnable: the
  model scored on its own training schools, the held-out route's own
  segments, and the held-out route's own directions from the school.

Direction weights give each candidate segment the share of some points (people,
crimes, schools, or the held-out route itself) lying in its bearing from the
school: a cos^4 kernel of the angle between the segment's midpoint and each
point, seen from the school (about +-35 degrees at half weight).  A probe
multiplies the probabilities by (0.1 + that share / its maximum) ** ``k``.

Prints one markdown table: recall, precision, F1 and the recall change against
``shipped``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_data_argument, peak_rss_mb, resolve_data_root
from routes_reference import GROWTH, CityBench, every_school, load_city, overall, style_samples

from safepassage.routes.corridors import grow_from_probability
from safepassage.routes.origins import census_population
from safepassage.routes.style import FEATURES, SchoolSegments, segment_labels, style_classifier

Array = NDArray[np.float64]
Columns = Callable[[str, SchoolSegments], Array]
NO_ROUTES = pd.DataFrame(
    {
        "window": pd.Series(dtype=str),
        "edge_ids": pd.Series(dtype=object),
        "students": pd.Series(dtype=float),
    }
)


@dataclass
class Probes:
    """The city, its samples and the shipped held-out probabilities, built once."""

    city: CityBench
    samples: list[tuple[str, SchoolSegments, NDArray[np.int64]]]
    official: pd.Series
    school_xy: Mapping[str, Array]
    shipped: dict[str, Array]
    base_rate: dict[str, float]

    @property
    def segments(self) -> dict[str, SchoolSegments]:
        return {s: seg for s, seg, _ in self.samples}


# ------------------------------------------------------------------ CV core
def cv_probabilities(
    city: CityBench,
    samples: list[tuple[str, SchoolSegments, NDArray[np.int64]]],
    *,
    columns: Columns | None = None,
    keep: list[int] | None = None,
    labels: Callable[[str, SchoolSegments, NDArray[np.int64]], NDArray[np.int8]] | None = None,
    options: Mapping[str, Any] | None = None,
    in_sample: bool = False,
) -> tuple[dict[str, Array], dict[str, float]]:
    """Held-out probabilities per school (the fold without its area) and each fold's
    base rate; ``columns`` adds features, ``keep`` selects the shipped ones."""
    from threadpoolctl import threadpool_limits

    area_of = city.schools.set_index("school_id")["community_area"]
    x: dict[str, Array] = {}
    y: dict[str, NDArray[np.int8]] = {}
    for school_id, segments, route in samples:
        own = segments.features if keep is None else segments.features[:, keep]
        x[school_id] = (
            own if columns is None else np.column_stack([own, columns(school_id, segments)])
        )
        y[school_id] = (
            labels(school_id, segments, route)
            if labels is not None
            else np.isin(segments.rows, route).astype(np.int8)
        )
    out: dict[str, Array] = {}
    rates: dict[str, float] = {}
    folds = [None] if in_sample else sorted(set(area_of))
    for area in folds:
        train = [s for s in x if area is None or area_of.get(s) != area]
        held = [s for s in x if area is None or area_of.get(s) == area]
        tx, ty = np.concatenate([x[s] for s in train]), np.concatenate([y[s] for s in train])
        model = style_classifier(**(options or {}))
        with threadpool_limits(1):
            model.fit(tx, ty)
        for school_id in held:
            out[school_id] = model.predict_proba(x[school_id])[:, 1]
            rates[school_id] = float(ty.mean())
    return out, rates


def score(
    probes: Probes,
    probabilities: Mapping[str, Array],
    base_rate: Mapping[str, float],
    transform: Callable[[str, SchoolSegments, Array], Array] | None = None,
) -> dict[str, float]:
    """Recall, precision, F1 and length / official of corridors grown (official length)."""
    city, geoms = probes.city, probes.city.network.edges.geometry.to_numpy()
    rows = []
    for school_id, segments in probes.segments.items():
        p = probabilities[school_id]
        if transform is not None:
            p = np.clip(transform(school_id, segments, p), 1e-4, 1 - 1e-4)
        budget = float(probes.official[school_id])
        ids = grow_from_probability(
            segments, city.context, p, base_rate[school_id], GROWTH, NO_ROUTES, budget
        )
        if ids:
            rows.append({"school_id": school_id, "geometry": shapely.union_all(geoms[ids])})
    corridors = gpd.GeoDataFrame(rows, geometry="geometry", crs=city.network.crs)
    scores = overall(every_school(city, corridors))
    return {**scores, "length": scores["corridor_km"] / scores["reference_km"]}


# ---------------------------------------------------------- added features
def direction_share(
    mids: Array, school: Array, points: Array, weights: Array, *, reach_m: float = 2500.0
) -> Array:
    """Per candidate midpoint: the weighted share of ``points`` (within ``reach_m`` of
    the school) in its bearing from the school (cos^4 kernel); the school's mean at
    midpoints closer than 30 m, where a bearing means nothing."""
    offset = points - school
    far = np.hypot(offset[:, 0], offset[:, 1])
    near = (far > 1.0) & (far <= reach_m)
    offset, far, weights = offset[near], far[near], weights[near]
    if weights.sum() <= 0:
        return np.zeros(len(mids))
    towards = mids - school
    reach = np.hypot(towards[:, 0], towards[:, 1])
    cos = (towards @ offset.T) / np.maximum(reach[:, None] * far[None, :], 1e-9)
    share = (np.maximum(cos, 0.0) ** 4 * weights[None, :]).sum(axis=1) / weights.sum()
    inside = reach < 30.0
    if (~inside).any():
        share[inside] = share[~inside].mean()
    return np.asarray(share)


def arterial_distance(probes: Probes, segments: SchoolSegments) -> Array:
    """Distance from the school along streets with arterials at 0.3 x their length,
    alleys at 3 x and paths at 1.5 x (km), and its ratio to the plain distance."""
    context = probes.city.context
    u, v = context.u[segments.rows], context.v[segments.rows]
    nodes, inverse = np.unique(np.concatenate([u, v, [segments.node]]), return_inverse=True)
    k, n = len(u), len(nodes)
    lu, lv, root = inverse[:k], inverse[k : 2 * k], int(inverse[-1])
    weight = np.maximum(
        context.length[segments.rows]
        * np.array([0.3, 1.0, 3.0, 1.5])[context.group[segments.rows]],
        0.01,
    )
    graph = coo_matrix(
        (np.concatenate([weight, weight]), (np.concatenate([lu, lv]), np.concatenate([lv, lu]))),
        shape=(n, n),
    ).tocsr()  # parallel segments sum here; rare, and only a probe
    dist = dijkstra(graph, directed=True, indices=root)
    along = np.minimum(dist[lu], dist[lv]) + weight / 2
    along = np.where(np.isfinite(along), along, 5000.0)
    plain = np.minimum(segments.node_distance[u], segments.node_distance[v])
    plain = plain + context.length[segments.rows] / 2
    return np.column_stack([along / 1000, along / np.maximum(plain, 1.0)])


def other_schools(probes: Probes, segments: SchoolSegments, school_id: str) -> Array:
    """Crow-flies km to the nearest other school, and the least detour ratio of passing
    the segment on the way to another school within 2.5 km."""
    mids = probes.city.context.mid[segments.rows]
    here = probes.school_xy[school_id]
    points = np.array([xy for s, xy in probes.school_xy.items() if s != school_id])
    apart = np.hypot(*(points - here).T)
    points, apart = points[apart < 2500.0], apart[apart < 2500.0]
    if len(points) == 0:
        return np.column_stack([np.full(len(mids), 3.0), np.full(len(mids), 5.0)])
    to_other = np.hypot(
        mids[:, None, 0] - points[None, :, 0], mids[:, None, 1] - points[None, :, 1]
    )
    to_school = np.hypot(*(mids - here).T)
    detour = (to_school[:, None] + to_other) / np.maximum(apart[None, :], 1.0)
    return np.column_stack([to_other.min(axis=1) / 1000, np.minimum(detour.min(axis=1), 5.0)])


def points_of(frame: pd.DataFrame, lon: str, lat: str, crs: Any) -> Array:
    frame = frame.dropna(subset=[lon, lat])
    series = gpd.GeoSeries(gpd.points_from_xy(frame[lon], frame[lat]), crs=4326).to_crs(crs)
    return np.column_stack([series.x, series.y])


# --------------------------------------------------------------------- main
def build(root: Path) -> Probes:
    city = load_city(root)
    samples = style_samples(city, city.schools["school_id"])
    everyone = city.everyone
    school_xy = {
        s: np.array([g.x, g.y])
        for s, g in zip(everyone["school_id"], everyone.geometry, strict=True)
    }
    official = city.reference.dissolve("school_id").length
    probes = Probes(city, samples, official, school_xy, {}, {})
    probes.shipped, probes.base_rate = cv_probabilities(city, samples)
    return probes


Transform = Callable[[str, SchoolSegments, Array], Array]


def probe_sets(
    probes: Probes, root: Path
) -> tuple[dict[str, dict[str, Any]], dict[str, Transform]]:
    """The training probes (keyword arguments of :func:`cv_probabilities`) and the growth
    probes and ceilings (transforms of the shipped held-out probabilities)."""
    city = probes.city
    context = city.context
    crs = city.network.crs
    tracts = gpd.read_file(f"/vsigzip/{root}/boundaries/census_tracts_2010.geojson.gz")
    population = pd.read_csv(root / "census/population_by_2010_census_block.csv.gz")
    people = census_population(tracts, population).to_crs(crs)
    people_xy = np.column_stack([people.representative_point().x, people.representative_point().y])
    people_n = people["population"].to_numpy(np.float64)
    by_school = {
        s: (np.column_stack([g.geometry.x, g.geometry.y]), g["students"].to_numpy(np.float64))
        for s, g in city.origins.groupby("school_id")
    }

    def students(school_id: str) -> tuple[Array, Array]:
        return by_school.get(school_id, (np.zeros((0, 2)), np.zeros(0)))

    guns = points_of(
        pd.read_csv(root / "crime/gun_crimes_2016_citywide.csv.gz"), "Longitude", "Latitude", crs
    )
    homicides = pd.read_csv(root / "crime/homicides_2013-2018_citywide.csv.gz")
    early = points_of(homicides[homicides["year"] <= 2014], "longitude", "latitude", crs)
    program = np.array([probes.school_xy[s] for s in city.schools["school_id"]])
    route_points = {}
    for school_id, line in city.reference.dissolve("school_id").geometry.items():
        pts = shapely.line_interpolate_point(line, np.arange(0.0, line.length, 20.0))
        route_points[school_id] = np.array([[p.x, p.y] for p in np.atleast_1d(pts)])

    def mids(segments: SchoolSegments) -> Array:
        return np.asarray(context.mid[segments.rows])

    def toward(points: Callable[[str], tuple[Array, Array]], k: float = 1.0) -> Transform:
        def weigh(school_id: str, segments: SchoolSegments, p: Array) -> Array:
            xy, w = points(school_id)
            share = direction_share(mids(segments), probes.school_xy[school_id], xy, w)
            return p * (0.1 + share / max(float(share.max()), 1e-12)) ** k

        return weigh

    def street_best(school_id: str, segments: SchoolSegments, p: Array) -> Array:
        names = pd.Series(context.name[segments.rows])
        best = pd.Series(p).groupby(names).transform("max").to_numpy(np.float64)
        return np.where(names.to_numpy() == "", p, np.sqrt(p * best))

    def budget(school_id: str, segments: SchoolSegments) -> Array:
        km = float(probes.official[school_id]) / 1000
        network_km = segments.features[:, FEATURES.index("network_km")]
        return np.column_stack([np.full(len(network_km), km), network_km / km])

    sy1617 = segment_labels(context, city.matched[city.matched["year"] == "SY1617"])
    dropped = [FEATURES.index("street_km"), FEATURES.index("street_near_km")]
    monotone = [0] * len(FEATURES)
    for name in ("network_km", "crow_km", "street_rank"):
        monotone[FEATURES.index(name)] = -1
    training: dict[str, dict[str, Any]] = {
        "labels: SY1617 routes only (not every year pooled)": {
            "labels": lambda s, seg, route: np.isin(seg.rows, sy1617.get(s, route)).astype(np.int8)
        },
        "+ other schools (nearest, detour toward)": {
            "columns": lambda s, seg: other_schools(probes, seg, s)
        },
        "+ direction: people, modelled students, schools": {
            "columns": lambda s, seg: np.column_stack(
                [
                    direction_share(mids(seg), probes.school_xy[s], people_xy, people_n),
                    direction_share(mids(seg), probes.school_xy[s], *students(s)),
                    direction_share(mids(seg), probes.school_xy[s], program, np.ones(len(program))),
                ]
            )
        },
        "+ arterial-preferring distance": {
            "columns": lambda s, seg: arterial_distance(probes, seg)
        },
        "+ the route's length as a feature": {"columns": budget},
        "- street lengths (street_km, street_near_km)": {
            "keep": [i for i in range(len(FEATURES)) if i not in dropped]
        },
        "monotone in distance and street rank": {"options": {"monotonic_cst": monotone}},
        "smaller trees (60 x depth 3)": {"options": {"max_iter": 60, "max_depth": 3}},
        "larger trees (300 x depth 6, rate 0.05)": {
            "options": {"max_iter": 300, "max_depth": 6, "learning_rate": 0.05}
        },
    }
    growth: dict[str, Transform] = {
        "growth: a street's best probability lent to it": street_best,
        "growth: toward people (tract population)": toward(lambda s: (people_xy, people_n)),
        "growth: toward modelled students": toward(students),
        "growth: toward 2016 gun crimes": toward(lambda s: (guns, np.ones(len(guns)))),
        "growth: toward 2013-14 homicides": toward(lambda s: (early, np.ones(len(early)))),
        "growth: toward other program schools": toward(lambda s: (program, np.ones(len(program)))),
    }
    ceilings: dict[str, Transform] = {
        "ceiling: toward the held-out route itself (k 1)": toward(
            lambda s: (route_points[s], np.ones(len(route_points[s])))
        ),
        "ceiling: the held-out route's own segments": lambda s, seg, p: np.where(
            np.isin(seg.rows, sy1617.get(s, np.zeros(0, np.int64))), 0.9, 0.01
        ),
    }
    return training, {**growth, **ceilings}


def probe_table(probes: Probes, root: Path, only: set[str]) -> list[tuple[str, dict[str, float]]]:
    """Score ``shipped`` and every probe whose name contains one of ``only`` (all if empty)."""
    training, transforms = probe_sets(probes, root)
    rows = [("shipped", score(probes, probes.shipped, probes.base_rate))]
    print(f"  shipped: {rows[0][1]}", file=sys.stderr)

    def wanted(name: str) -> bool:
        return not only or any(word in name for word in only)

    for name, change in training.items():
        if wanted(name):
            start = time.perf_counter()
            p, rates = cv_probabilities(probes.city, probes.samples, **change)
            rows.append((name, score(probes, p, rates)))
            print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    for name, transform in transforms.items():
        if wanted(name):
            rows.append((name, score(probes, probes.shipped, probes.base_rate, transform)))
    if wanted("ceiling: in-sample"):
        p, rates = cv_probabilities(probes.city, probes.samples, in_sample=True)
        rows.append(
            ("ceiling: in-sample (scored on its own training schools)", score(probes, p, rates))
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_argument(parser)
    parser.add_argument("--only", nargs="*", default=[], help="probes whose name has a word")
    args = parser.parse_args()
    root = resolve_data_root(args.data)
    start = time.perf_counter()
    probes = build(root)
    rows = probe_table(probes, root, set(args.only))
    base = rows[0][1]["recall"]
    print("| probe | recall | precision | F1 | length / official | recall - shipped |")
    print("|---|---|---|---|---|---|")
    for name, s in rows:
        print(
            f"| {name} | {s['recall']:.3f} | {s['precision']:.3f} | {s['f1']:.3f} | "
            f"{s['length']:.3f} | {s['recall'] - base:+.3f} |"
        )
    print(f"\n{time.perf_counter() - start:.0f} s; peak memory {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
