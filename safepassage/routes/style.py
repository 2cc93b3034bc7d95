"""The city's route style, learned from its published routes: which streets a route takes.

A designed corridor should look like the routes the city publishes: a few long
legs from the school door along through streets, mostly arterials, rarely an
alley.  :func:`train_style` learns that from published routes of *other*
schools (``[routes] style_routes``, matched onto the network by
:func:`~safepassage.routes.matching.match_routes`):

* every undirected street segment within :data:`REACH_M` along the network
  of a school is one sample, labelled 1 when the school's published route
  runs along it;
* its features (:data:`FEATURES`) describe the street, not the students:
  street class, the length of the same-named street in the network
  (through streets), whether it is the street of the school door, how many
  streets meet at its ends and whether one end touches an arterial (a
  crossing), its distance from the school along the network and as the crow
  flies, whether it runs toward the school (radial) or across, its length and
  its risk rank among the school's segments;
* a gradient-boosted classifier (scikit-learn
  ``HistGradientBoostingClassifier``, seeded) gives each segment the
  probability a route designer would take it.

:class:`StyleModel` holds the trees as plain numbers (JSON, no pickle), the
corridor-growth parameters and a length budget per school (a linear model of
log route length on enrollment, grade band and neighbouring schools).  The
package ships one trained on the visible published Chicago routes
(:func:`default_style`, written by ``bench/train_style.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import DataError
from ..streets import ARTERIALS
from .network import WalkNetwork

__all__ = [
    "FEATURES",
    "REACH_M",
    "GrowthParameters",
    "SchoolSegments",
    "StreetContext",
    "StyleModel",
    "default_style",
    "fit_budget",
    "school_segments",
    "segment_labels",
    "style_classifier",
    "train_style",
]

REACH_M = 1500.0  # segments this far along the network from a school are candidates
FORMAT = 1
DEFAULT_MODEL = "chicago_style.json"

RESIDENTIAL = ("residential", "living_street", "unclassified", "connector")
SERVICE = ("service", "alley")
FEATURES = (
    "arterial",
    "residential",
    "service",
    "street_km",
    "door_street",
    "degree",
    "touches_arterial",
    "network_km",
    "crow_km",
    "radial",
    "segment_m",
    "risk_rank",
    "street_rank",
    "street_near_km",
    "school_arterial_km",
)
BUDGET_FEATURES = ("log_enrollment", "high_school", "neighbours_1km")


@dataclass(frozen=True)
class StreetContext:
    """School-independent facts of every undirected segment of one network.

    ``edge`` is one directed edge id per segment (the lower id); ``segment_of``
    maps every edge id to its segment's row.
    """

    edge: NDArray[np.int64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    length: NDArray[np.float64]
    segment_of: NDArray[np.int64]
    group: NDArray[np.int8]  # 0 arterial, 1 residential, 2 service/alley, 3 other
    name: NDArray[np.object_]
    street_km: NDArray[np.float64]
    degree: NDArray[np.float64]
    touches_arterial: NDArray[np.float64]
    mid: NDArray[np.float64]  # (n, 2)
    direction: NDArray[np.float64]  # (n, 2) unit vectors

    @classmethod
    def of(cls, network: WalkNetwork) -> StreetContext:
        """Build the context of ``network`` (a few seconds citywide)."""
        edges = network.edges
        u_all = edges["u"].to_numpy(np.int64)
        v_all = edges["v"].to_numpy(np.int64)
        n_nodes = len(network.nodes)
        key = np.minimum(u_all, v_all) * n_nodes + np.maximum(u_all, v_all)
        uniq, first, segment_of = np.unique(key, return_index=True, return_inverse=True)
        edge = first.astype(np.int64)  # np.unique returns the first (lowest) edge id
        u, v = np.minimum(u_all, v_all)[edge], np.maximum(u_all, v_all)[edge]
        length = edges["length"].to_numpy(np.float64)[edge]
        highway = edges["highway"].astype(str).to_numpy()[edge]
        group = np.full(len(uniq), 3, dtype=np.int8)
        group[np.isin(highway, ARTERIALS)] = 0
        group[np.isin(highway, RESIDENTIAL)] = 1
        group[np.isin(highway, SERVICE)] = 2
        name = edges["name"].fillna("").astype(str).to_numpy()[edge].astype(object)
        totals = pd.Series(length).groupby(pd.Series(name)).sum()
        street_km = pd.Series(name).map(totals).to_numpy(np.float64) / 1000
        street_km[name == ""] = 0.0
        ends = np.concatenate([u, v])
        degree_of = np.bincount(ends, minlength=n_nodes).astype(np.float64)
        arterial_node = np.zeros(n_nodes, dtype=bool)
        arterial_node[u[group == 0]] = True
        arterial_node[v[group == 0]] = True
        xs, ys = network.nodes["x"].to_numpy(np.float64), network.nodes["y"].to_numpy(np.float64)
        a, b = np.column_stack([xs[u], ys[u]]), np.column_stack([xs[v], ys[v]])
        vec = b - a
        norm = np.maximum(np.hypot(vec[:, 0], vec[:, 1]), 1e-9)
        return cls(
            edge=edge,
            u=u,
            v=v,
            length=length,
            segment_of=segment_of.astype(np.int64),
            group=group,
            name=name,
            street_km=street_km,
            degree=np.maximum(degree_of[u], degree_of[v]),
            touches_arterial=(arterial_node[u] | arterial_node[v]).astype(np.float64),
            mid=(a + b) / 2,
            direction=vec / norm[:, None],
        )


@dataclass(frozen=True)
class SchoolSegments:
    """The candidate segments of one school: rows of :class:`StreetContext` and features."""

    node: int
    rows: NDArray[np.int64]
    features: NDArray[np.float64]  # (len(rows), len(FEATURES))
    node_distance: NDArray[np.float64]  # metres along the network, per network node


def school_segments(
    network: WalkNetwork,
    context: StreetContext,
    node: int,
    risk: NDArray[np.float64] | None = None,
    *,
    reach_m: float = REACH_M,
) -> SchoolSegments:
    """Features (:data:`FEATURES`) of the segments within ``reach_m`` of a school node."""
    dist = network.shortest_paths([node], limit_m=reach_m, paths=False).distances[0]
    near = np.minimum(dist[context.u], dist[context.v])
    rows = np.flatnonzero(near <= reach_m)
    x0 = float(network.nodes["x"].iloc[node])
    y0 = float(network.nodes["y"].iloc[node])
    offset = context.mid[rows] - np.array([x0, y0])
    crow = np.hypot(offset[:, 0], offset[:, 1])
    radial = np.abs((offset * context.direction[rows]).sum(axis=1)) / np.maximum(crow, 1e-9)
    radial[crow < 1.0] = 1.0
    at_door = (context.u[rows] == node) | (context.v[rows] == node)
    door_names = set(context.name[rows][at_door]) - {""}
    door = np.array([n in door_names for n in context.name[rows]], dtype=np.float64)
    if risk is None or rows.size == 0:
        risk_rank = np.zeros(rows.size)
    else:
        values = np.asarray(risk, dtype=np.float64)[context.edge[rows]]
        risk_rank = np.asarray(pd.Series(values).rank(pct=True).to_numpy(np.float64))
    group = context.group[rows]
    street_rank, street_near_km, school_arterial_km = _street_context(
        context.name[rows], group, near[rows], context.length[rows]
    )
    features = np.column_stack(
        [
            group == 0,
            group == 1,
            group == 2,
            context.street_km[rows],
            door,
            context.degree[rows],
            context.touches_arterial[rows],
            near[rows] / 1000,
            crow / 1000,
            radial,
            context.length[rows],
            risk_rank,
            street_rank,
            street_near_km,
            np.full(rows.size, school_arterial_km),
        ]
    ).astype(np.float64)
    return SchoolSegments(int(node), rows, features, dist)


def _street_context(
    name: NDArray[np.object_],
    group: NDArray[np.int8],
    near_m: NDArray[np.float64],
    length: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Per candidate segment: the rank of its street among the streets of its class by
    distance from the school (1: the nearest; 10 for unnamed and beyond), the length of
    its street within 1 km of the school (km); and the school's distance to an arterial."""
    table = pd.DataFrame({"name": name, "group": group, "near": near_m, "length": length})
    named = table[table["name"] != ""]
    closest = named.groupby(["group", "name"])["near"].min()
    ranks = closest.groupby(level="group").rank(method="min")
    rank = pd.Series(list(zip(table["group"], table["name"], strict=True)), index=table.index).map(
        ranks.to_dict()
    )
    street_rank = np.minimum(rank.fillna(10.0).to_numpy(np.float64), 10.0)
    local = named[named["near"] <= 1000.0].groupby("name")["length"].sum() / 1000
    street_near_km = table["name"].map(local).fillna(0.0).to_numpy(np.float64)
    arterial = near_m[group == 0]
    school_arterial_km = float(arterial.min()) / 1000 if arterial.size else 5.0
    return street_rank, street_near_km, school_arterial_km


def segment_labels(
    context: StreetContext, matched: gpd.GeoDataFrame
) -> dict[str, NDArray[np.int64]]:
    """Context rows of each school's published route segments (``match_routes`` output)."""
    out: dict[str, list[int]] = {}
    for school_id, ids in zip(matched["school_id"], matched["edge_ids"], strict=True):
        out.setdefault(str(school_id), []).extend(int(e) for e in ids)
    return {
        s: np.unique(context.segment_of[np.asarray(ids, dtype=np.int64)])
        for s, ids in out.items()
        if ids
    }


# --------------------------------------------------------------------- model
@dataclass(frozen=True)
class GrowthParameters:
    """How a corridor is grown from the scores (see :mod:`safepassage.routes.corridors`).

    ``gamma``: leg cost = length x exp(gamma x (logit(base_rate) - logit(p)));
    ``flow_power``: a segment's value is length x p x (tree flow share) ** flow_power;
    ``leg_m``: longest leg added at once.
    """

    gamma: float = 1.0
    flow_power: float = 0.5
    leg_m: float = 800.0
    threshold: float = 0.0


@dataclass(frozen=True)
class StyleModel:
    """A learned street preference: boosted trees over :data:`FEATURES`, and a budget model.

    ``trees`` is a list of trees; each tree a dict of equal-length lists
    ``feature``, ``threshold``, ``left``, ``right``, ``value``, ``leaf`` (a
    sample goes left when its feature value is <= the threshold).
    """

    trees: tuple[Mapping[str, tuple[float, ...]], ...]
    baseline: float
    base_rate: float
    growth: GrowthParameters = GrowthParameters()
    budget_coef: tuple[float, ...] = (math.log(1600.0), 0.0, 0.0, 0.0)
    budget_range_m: tuple[float, float] = (600.0, 4100.0)
    importances: Mapping[str, float] = field(default_factory=dict)
    about: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def _arrays(self) -> list[tuple[NDArray[Any], ...]]:
        return [
            (
                np.asarray(t["feature"], dtype=np.int64),
                np.asarray(t["threshold"], dtype=np.float64),
                np.asarray(t["left"], dtype=np.int64),
                np.asarray(t["right"], dtype=np.int64),
                np.asarray(t["value"], dtype=np.float64),
                np.asarray(t["leaf"], dtype=bool),
            )
            for t in self.trees
        ]

    def raw(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds per row of ``features`` (columns :data:`FEATURES`)."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(FEATURES):
            raise DataError(f"style features need {len(FEATURES)} columns, got shape {x.shape}")
        out = np.full(len(x), self.baseline)
        rows = np.arange(len(x))
        for feature, threshold, left, right, value, leaf in self._arrays:
            at = np.zeros(len(x), dtype=np.int64)
            while True:
                inner = ~leaf[at]
                if not inner.any():
                    break
                r, n = rows[inner], at[inner]
                go_left = x[r, feature[n]] <= threshold[n]
                at[r] = np.where(go_left, left[n], right[n])
            out += value[at]
        return out

    def probability(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probability per segment that a route designer takes it."""
        return np.asarray(1 / (1 + np.exp(-self.raw(features))))

    def budget_m(
        self, schools: pd.DataFrame, all_schools: pd.DataFrame | None = None
    ) -> NDArray[np.float64]:
        """Corridor length per school (``enrollment``, ``grade_band``, geometry), metres."""
        x = budget_features(schools, schools if all_schools is None else all_schools)
        coef = np.asarray(self.budget_coef, dtype=np.float64)
        low, high = self.budget_range_m
        return np.asarray(np.clip(np.exp(coef[0] + x @ coef[1:]), low, high))

    # ------------------------------------------------------------ file format
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": list(FEATURES),
            "baseline": self.baseline,
            "base_rate": self.base_rate,
            "growth": {
                "gamma": self.growth.gamma,
                "flow_power": self.growth.flow_power,
                "leg_m": self.growth.leg_m,
                "threshold": self.growth.threshold,
            },
            "budget": {
                "features": list(BUDGET_FEATURES),
                "coef": list(self.budget_coef),
                "range_m": list(self.budget_range_m),
            },
            "importances": dict(self.importances),
            "about": dict(self.about),
            "trees": [{k: list(v) for k, v in t.items()} for t in self.trees],
        }

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON: split thresholds exact, other numbers to 6
        significant digits (a rounded threshold could cross a feature value)."""
        data = self.to_dict()
        trees = data.pop("trees")
        data = _rounded(data)
        data["trees"] = [{**_rounded(t), "threshold": t["threshold"]} for t in trees]
        path = Path(path)
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "style model") -> StyleModel:
        try:
            if data["format"] != FORMAT or tuple(data["features"]) != FEATURES:
                raise DataError(
                    f"{source}: format {data['format']} with features {data['features']} is not "
                    f"this version's (format {FORMAT}, {list(FEATURES)}); retrain it with "
                    "bench/train_style.py"
                )
            trees = tuple(
                {k: tuple(t[k]) for k in ("feature", "threshold", "left", "right", "value", "leaf")}
                for t in data["trees"]
            )
            growth = GrowthParameters(**data["growth"])
            return cls(
                trees=trees,
                baseline=float(data["baseline"]),
                base_rate=float(data["base_rate"]),
                growth=growth,
                budget_coef=tuple(float(c) for c in data["budget"]["coef"]),
                budget_range_m=(
                    float(data["budget"]["range_m"][0]),
                    float(data["budget"]["range_m"][1]),
                ),
                importances=dict(data.get("importances", {})),
                about=dict(data.get("about", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{source}: not a safepassage style model ({exc!r}); "
                "write one with bench/train_style.py"
            ) from exc

    @classmethod
    def load(cls, path: str | Path) -> StyleModel:
        """Read a model written by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: cannot read the style model ({exc})") from exc
        return cls.from_dict(data, source=str(path))


def default_style() -> StyleModel:
    """Chicago's style: the model shipped in the package (``bench/train_style.py``)."""
    text = resources.files("safepassage.routes").joinpath(DEFAULT_MODEL).read_text()
    return StyleModel.from_dict(json.loads(text), source=f"safepassage/routes/{DEFAULT_MODEL}")


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


# ------------------------------------------------------------------ training
def train_style(
    samples: Iterable[tuple[SchoolSegments, NDArray[np.int64]]],
    *,
    seed: int = 0,
    max_iter: int = 120,
    max_depth: int = 4,
    min_samples_leaf: int = 40,
    growth: GrowthParameters | None = None,
    about: Mapping[str, Any] | None = None,
) -> StyleModel:
    """Fit the street preference on (candidate segments, route segment rows) per school.

    The caller leaves out the planned schools' own routes; every school given
    here is a training school.  Deterministic for one ``seed``.
    """
    from threadpoolctl import threadpool_limits

    xs, ys = [], []
    for segments, route_rows in samples:
        if segments.rows.size == 0:
            continue
        xs.append(segments.features)
        ys.append(np.isin(segments.rows, route_rows).astype(np.int8))
    if not xs:
        raise DataError("no style route lies on the network near its school; nothing to learn")
    x, y = np.concatenate(xs), np.concatenate(ys)
    if y.min() == y.max():
        raise DataError(
            "the style routes give only one label; they need route and non-route streets"
        )
    classifier = style_classifier(
        seed=seed, max_iter=max_iter, max_depth=max_depth, min_samples_leaf=min_samples_leaf
    )
    with threadpool_limits(1):  # one thread: the same trees anywhere; fast on a busy machine
        classifier.fit(x, y)
    # scikit-learn has no public accessor for the fitted trees; the test
    # test_exported_trees_give_the_classifier_s_probabilities guards this export
    predictors = [p[0] for p in classifier._predictors]  # noqa: SLF001
    baseline = float(np.ravel(classifier._baseline_prediction)[0])  # noqa: SLF001
    trees = tuple(_tree(p.nodes) for p in predictors)
    gains = np.zeros(len(FEATURES))
    for p in predictors:
        inner = ~p.nodes["is_leaf"].astype(bool)
        np.add.at(gains, p.nodes["feature_idx"][inner], p.nodes["gain"][inner])
    importances = dict(
        zip(FEATURES, (gains / max(gains.sum(), 1e-12)).round(4).tolist(), strict=True)
    )
    return StyleModel(
        trees=trees,
        baseline=baseline,
        base_rate=float(y.mean()),
        growth=growth or GrowthParameters(),
        importances=importances,
        about={
            "samples": len(y),
            "route_segments": int(y.sum()),
            "seed": seed,
            **(about or {}),
        },
    )


def style_classifier(
    *,
    seed: int = 0,
    max_iter: int = 120,
    max_depth: int = 4,
    min_samples_leaf: int = 40,
    **options: Any,
) -> Any:
    """The unfitted classifier of :func:`train_style` (scikit-learn
    ``HistGradientBoostingClassifier``; ``options`` are its other parameters)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    settings: dict[str, Any] = {
        "max_iter": max_iter,
        "learning_rate": 0.1,
        "max_depth": max_depth,
        "min_samples_leaf": min_samples_leaf,
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": seed,
    }
    return HistGradientBoostingClassifier(**{**settings, **options})


def _tree(nodes: NDArray[Any]) -> dict[str, tuple[float, ...]]:
    return {
        "feature": tuple(int(f) for f in nodes["feature_idx"]),
        "threshold": tuple(float(t) for t in nodes["num_threshold"]),
        "left": tuple(int(i) for i in nodes["left"]),
        "right": tuple(int(i) for i in nodes["right"]),
        "value": tuple(float(v) for v in nodes["value"]),
        "leaf": tuple(int(b) for b in nodes["is_leaf"]),
    }


def budget_features(schools: pd.DataFrame, all_schools: pd.DataFrame) -> NDArray[np.float64]:
    """:data:`BUDGET_FEATURES` per school: log enrollment (median when unknown), high
    school (0/1) and other schools within 1 km (of ``all_schools``)."""
    raw = schools["enrollment"] if "enrollment" in schools else pd.Series(np.nan, schools.index)
    enrollment = pd.Series(pd.to_numeric(raw, errors="coerce"), index=schools.index)
    enrollment = enrollment.fillna(enrollment.median()).fillna(400.0)
    band = schools.get("grade_band", pd.Series("", index=schools.index))
    high = (band == "high").to_numpy(np.float64)
    if isinstance(schools, gpd.GeoDataFrame) and isinstance(all_schools, gpd.GeoDataFrame):
        here = np.column_stack([schools.geometry.x, schools.geometry.y])
        there = np.column_stack([all_schools.geometry.x, all_schools.geometry.y])
        d = np.hypot(here[:, None, 0] - there[None, :, 0], here[:, None, 1] - there[None, :, 1])
        neighbours = ((d > 1.0) & (d <= 1000.0)).sum(axis=1).astype(np.float64)
    else:
        neighbours = np.zeros(len(schools))
    return np.column_stack(
        [np.log(np.maximum(enrollment.to_numpy(np.float64), 1.0)), high, neighbours]
    )


def fit_budget(
    schools: pd.DataFrame,
    all_schools: pd.DataFrame,
    route_m: NDArray[np.float64],
    *,
    ridge: float = 1.0,
) -> tuple[float, ...]:
    """Ridge fit of log route length on :data:`BUDGET_FEATURES` (centred); coefficients
    ``(intercept, *slopes)`` for :attr:`StyleModel.budget_coef`.  The intercept carries
    Duan's smearing term (log of the mean exponentiated residual), so the budgets add up
    to the routes' total length rather than their geometric mean."""
    x = budget_features(schools, all_schools)
    y = np.log(np.asarray(route_m, dtype=np.float64))
    mean = x.mean(axis=0)
    xc = x - mean
    slopes = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ (y - y.mean()))
    intercept = float(y.mean() - mean @ slopes)
    smearing = float(np.log(np.mean(np.exp(y - intercept - x @ slopes))))
    return (intercept + smearing, *(float(s) for s in slopes))
