"""Folium layer builders of the plan map: streets, risk, corridors, posts, schools, ...

Each builder takes tables in the network's metric CRS, converts its own
geometry to EPSG:4326 and returns one :class:`folium.FeatureGroup` (or the
legend control); :func:`safepassage.maps.web.plan_map` composes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import HeatMap
from numpy.typing import NDArray

from ..crs import WGS84
from ..errors import DataError
from ..routes.network import WalkNetwork
from ..streets import NON_STREET_HIGHWAYS
from .assets import (
    LegendControl,
    esc,
    feature_group,
    legend_html,
    line_coords,
    lines_feature,
    point_coords,
    point_feature,
    post_popup_html,
    require_columns,
    undirected_edges,
)

__all__ = [
    "RISK_COLORS",
    "SCHOOL_COLORS",
    "WINDOW_LABELS",
    "corridor_layer",
    "incident_layer",
    "legend",
    "origin_layer",
    "post_layer",
    "risk_breaks",
    "risk_layer",
    "school_layer",
    "street_layer",
]


WINDOW_LABELS = {"am": "morning", "pm": "afternoon"}
# YlOrRd: light to dark, so the classes also differ in grey; weights grow with risk too.
RISK_COLORS = ("#fed976", "#feb24c", "#fd8d3c", "#e31a1c", "#800026")
_PALETTE = "#1f4e9e #6a3d9a #00796b #b15928 #c2185b #33691e #01579b #4e342e #ad1457 #283593"
SCHOOL_COLORS = tuple(_PALETTE.split())  # dark, distinct hues: corridors per school


HEAT_URL = "https://cdn.jsdelivr.net/npm/leaflet.heat@0.2.0/dist/leaflet-heat.js"


def street_layer(network: WalkNetwork, edge_ids: NDArray[np.int64]) -> folium.FeatureGroup:
    """Grey street lines (the offline basemap) for the given edge ids; hover shows the name."""
    edges = network.edges.iloc[undirected_edges(network, edge_ids)]
    style = {"color": "#8c8c8c", "weight": 1.2, "opacity": 0.8}
    features = []
    for name, group in edges.groupby(edges["name"].astype(str), sort=True):
        coords = line_coords(group.geometry.values, network.crs)
        tip = esc(name) if name else None
        features.append(lines_feature(coords, style=style, **({"tip": tip} if tip else {})))
    return feature_group("Streets", features, show=True)


def risk_breaks(values: NDArray[np.float64], classes: int = len(RISK_COLORS)) -> list[float]:
    """Class breaks (quantiles of the positive values, 2 significant digits), ascending."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return []
    quantiles = np.quantile(positive, np.linspace(0, 1, classes + 1)[1:-1])
    rounded = [float(f"{q:.2g}") for q in quantiles]
    return sorted({q for q in rounded if q > 0})


def _break_labels(breaks: Sequence[float]) -> list[str]:
    if not breaks:
        return ["> 0"]
    inner = [f"{a:g}–{b:g}" for a, b in itertools.pairwise(breaks)]
    return [f"< {breaks[0]:g}", *inner, f"≥ {breaks[-1]:g}"]


def risk_layer(
    network: WalkNetwork,
    risk: pd.DataFrame,
    window: str,
    *,
    edge_ids: NDArray[np.int64] | None = None,
    breaks: Sequence[float] = (),
    min_risk: float = 0.0,
    show: bool = True,
    streets_only: bool = True,
) -> folium.FeatureGroup:
    """Street segments coloured (and thickened) by risk class for one time window.

    With ``streets_only`` alleys, service roads and paths are left out: they
    carry few students and would hide the streets' colours.

    Parameters
    ----------
    risk
        ``edge_id``, ``window``, ``risk`` (weighted incidents per km per year).
    edge_ids
        Only these edges are drawn (e.g. :func:`edges_in_area`); all when None.
    breaks
        Class breaks from :func:`risk_breaks`; segments at or below ``min_risk`` are skipped.
    """
    require_columns(risk, ["edge_id", "window", "risk"], "risk table")
    rows = risk[(risk["window"] == window) & (risk["risk"] > min_risk)]
    if edge_ids is not None:
        rows = rows[rows["edge_id"].isin(edge_ids)]
    if streets_only:
        street = ~network.edges["highway"].isin(NON_STREET_HIGHWAYS).to_numpy()
        rows = rows[street[rows["edge_id"].to_numpy(dtype=np.int64)]]
    ids = rows["edge_id"].to_numpy(dtype=np.int64)
    values = rows["risk"].to_numpy(dtype=np.float64)
    keep = undirected_edges(network, ids) if ids.size else ids
    per_edge = pd.Series(values, index=ids).groupby(level=0).max()
    classes = np.digitize(per_edge.reindex(keep).to_numpy(), list(breaks), right=False)
    labels = _break_labels(breaks)
    label = WINDOW_LABELS.get(window, window)
    features = []
    for cls in range(len(labels)):
        chosen = keep[classes == cls]
        coords = line_coords(network.edges.geometry.values[chosen], network.crs)
        if not coords:
            continue
        style = {"color": RISK_COLORS[min(cls, len(RISK_COLORS) - 1)], "weight": 2 + cls * 0.8}
        style["opacity"] = 0.9
        tip = f"Risk {esc(labels[cls])} incidents/km/yr ({esc(label)})"
        features.append(lines_feature(coords, style=style, tip=tip))
    return feature_group(f"Street risk — {esc(label)} ({esc(window)})", features, show=show)


def corridor_layer(
    corridors: gpd.GeoDataFrame, school_name: str, *, color: str = SCHOOL_COLORS[0]
) -> folium.FeatureGroup:
    """The designated route corridors of one school, with a popup per route."""
    require_columns(
        corridors, ["route_id", "school_id", "length_m", "students_served"], "corridors"
    )
    features = []
    for row in corridors.itertuples(index=False):
        coords = line_coords([row.geometry], corridors.crs)
        popup = (
            f"<b>Route {esc(row.route_id)}</b><br>{esc(school_name)}<br>"
            f"Length: {float(row.length_m):,.0f} m<br>"
            f"Students served: {int(row.students_served):,}<br>"
            f"Risk exposure: {float(getattr(row, 'risk_exposure', np.nan)):.2f}"
        )
        # wide and translucent over the risk layer: the risk colours show through
        style = {"color": color, "weight": 11, "opacity": 0.45, "lineCap": "round"}
        features.append(lines_feature(coords, style=style, popup=popup, tip=esc(row.route_id)))
    return feature_group(f"Corridors — {esc(school_name)}", features, show=True)


def post_layer(
    posts: gpd.GeoDataFrame,
    schedule: pd.DataFrame,
    times: dict[tuple[str, str], str],
    *,
    selected: bool = True,
    passing: Mapping[str, int] | None = None,
) -> folium.FeatureGroup:
    """Chosen posts (filled circles with a popup) or the unchosen candidates (hollow).

    ``schedule`` is :func:`post_schedule`; ``times`` maps (school_id, window) to
    "HH:MM–HH:MM"; ``passing`` maps a post id to the students on its routes.
    """
    passing = passing or {}
    require_columns(posts, ["post_id", "school_id", "cross_streets", "selected"], "posts")
    posts = posts[posts["selected"].astype(bool) == selected]
    lonlat = point_coords(posts.geometry)
    by_post = dict(tuple(schedule.groupby("post_id"))) if len(schedule) else {}
    empty = pd.DataFrame(columns=schedule.columns)
    if selected:
        style = {"radius": 7, "color": "#ffffff", "weight": 2, "fillColor": "#111111"}
    else:
        style = {"radius": 4, "color": "#555555", "weight": 1.5, "fill": False}
    style["fillOpacity"] = 0.95
    features = []
    for xy, post in zip(lonlat, posts.itertuples(index=False), strict=True):
        shifts = by_post.get(str(post.post_id), empty)
        tip = f"{esc(post.post_id)}: {esc(post.cross_streets)}"
        popup = post_popup_html(post, times, shifts, passing.get(str(post.post_id)))
        features.append(point_feature(xy, style=style, tip=tip, popup=popup))
    name = "Posts" if selected else "Candidate posts (not chosen)"
    return feature_group(name, features, show=selected)


def school_layer(schools: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Schools as labelled squares, with name, grades and bell times in a popup."""
    lonlat = point_coords(schools.geometry)
    features = []
    for xy, school in zip(lonlat, schools.itertuples(index=False), strict=True):
        popup = (
            f"<b>{esc(school.name)}</b><br>School id: {esc(school.school_id)}<br>"
            f"Grades: {esc(getattr(school, 'grades', ''))}<br>"
            f"Bells: {esc(getattr(school, 'bell_start', ''))}"
            f"–{esc(getattr(school, 'bell_end', ''))}"
        )
        icon = '<div class="sp-school">S</div>'
        features.append(
            point_feature(xy, icon=icon, iconSize=[18, 18], popup=popup, tip=esc(school.name))
        )
    return feature_group("Schools", features, show=True)


def origin_layer(origins: gpd.GeoDataFrame, min_students: int) -> folium.FeatureGroup:
    """Aggregated student origins; aggregates under ``min_students`` are never drawn."""
    require_columns(origins, ["origin_id", "school_id", "students"], "origins")
    shown = origins[origins["students"].astype(int) >= int(min_students)]
    lonlat = point_coords(shown.geometry)
    features = []
    for xy, origin in zip(lonlat, shown.itertuples(index=False), strict=True):
        students = int(origin.students)
        style = {"radius": float(3 + min(np.sqrt(students), 12)), "color": "#2e7d32"}
        style |= {"weight": 1, "fillOpacity": 0.35}
        tip = f"{students} students walk from about here (aggregate) to {esc(origin.school_id)}"
        features.append(point_feature(xy, style=style, tip=tip))
    return feature_group("Student origins (aggregated)", features, show=False)


def incident_layer(
    incidents: gpd.GeoDataFrame, *, area: Any | None = None, area_crs: Any | None = None
) -> folium.FeatureGroup:
    """A heat layer of incident points (optional ``weight`` column), hidden at first.

    ``incidents`` may be in any CRS; points outside ``area`` (a shapely geometry
    in ``area_crs``, e.g. the plan's metric CRS) are left out.
    """
    if incidents.crs is None:
        raise DataError("incidents have no CRS; set one (EPSG:4326 for lat/lon, 3435 for CPD X/Y)")
    points = incidents[~incidents.geometry.is_empty & incidents.geometry.notna()]
    if area is not None:
        local = points.geometry.to_crs(area_crs or points.crs)
        shapely.prepare(area)
        points = points[shapely.intersects(area, local.values)]
    weights = points["weight"].to_numpy(float) if "weight" in points else np.ones(len(points))
    lonlat = point_coords(points.geometry.to_crs(WGS84))
    data = [[float(y), float(x), float(w)] for (x, y), w in zip(lonlat, weights, strict=True)]
    group = folium.FeatureGroup(name="Incidents (heat)", show=False)
    heat = HeatMap(data, radius=12, blur=15, min_opacity=0.3)  # type: ignore[no-untyped-call]
    heat.default_js = [("leaflet-heat.js", HEAT_URL)]
    heat.add_to(group)
    return group


def legend(
    breaks: Sequence[float] | None,
    school_colors: dict[str, str],
    *,
    title: str = "",
    has_origins: bool = False,
) -> LegendControl:
    """A legend control: risk classes, corridor colour per school, posts, schools.

    ``breaks`` are the risk class breaks (None: no risk layer); ``school_colors``
    maps an already escaped school name to its corridor colour; ``title`` is HTML.
    """
    classes = []
    if breaks is not None:
        labels = _break_labels(breaks)
        classes = [
            (label, RISK_COLORS[min(i, len(RISK_COLORS) - 1)]) for i, label in enumerate(labels)
        ]
    html = legend_html(title, classes if breaks is not None else None, school_colors, has_origins)
    return LegendControl(html, position="bottomright")
