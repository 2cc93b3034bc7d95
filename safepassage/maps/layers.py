"""Folium layer builders of the plan map: streets, risk, corridors, route review, posts, ...

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
from ..schedule import WINDOWS
from ..streets import NON_STREET_HIGHWAYS
from .assets import (
    LegendControl,
    esc,
    feature_group,
    grouped_line_coords,
    legend_html,
    line_coords,
    line_sample,
    lines_feature,
    point_coords,
    point_feature,
    post_popup_html,
    post_workers,
    require_columns,
    undirected_edges,
)

__all__ = [
    "CORRIDOR_KINDS",
    "RISK_COLORS",
    "SCHOOL_COLORS",
    "WINDOW_LABELS",
    "corridor_layer",
    "corridor_legend_rows",
    "incident_layer",
    "legend",
    "origin_layer",
    "post_layer",
    "review_layer",
    "review_legend_rows",
    "risk_breaks",
    "risk_layer",
    "school_colors",
    "school_layer",
    "street_layer",
    "uncovered_layer",
]


WINDOW_LABELS = {"am": "morning", "pm": "afternoon"}
# YlOrRd: light to dark, so the classes also differ in grey; weights grow with risk too.
RISK_COLORS = ("#fed976", "#feb24c", "#fd8d3c", "#e31a1c", "#800026")
_PALETTE = "#1f4e9e #6a3d9a #00796b #b15928 #c2185b #33691e #01579b #4e342e #ad1457 #283593"
SCHOOL_COLORS = tuple(_PALETTE.split())  # dark, distinct hues: corridors per school
CORRIDOR_KINDS = {"designated": "designated route", "designed": "designed corridor"}
DESIGNED_DASH = "14 10"
# review lines stand apart from the warm risk colours and the dark corridor colours
RISKIEST_COLOR = "#00b4d8"
EXTENSION_COLOR = "#2bb24c"
EXTENSION_DASH = "1 12"
UNCOVERED_COLORS = ("#b3a2d6", "#8856a7", "#4d004b")  # BuPu, light to dark


HEAT_URL = "https://cdn.jsdelivr.net/npm/leaflet.heat@0.2.0/dist/leaflet-heat.js"


def street_layer(
    network: WalkNetwork, edge_ids: NDArray[np.int64], *, show: bool = True
) -> folium.FeatureGroup:
    """Grey street lines (the offline basemap) for the given edge ids; hover shows the name."""
    edges = network.edges.iloc[undirected_edges(network, edge_ids)]
    style = {"color": "#8c8c8c", "weight": 1.2, "opacity": 0.8}
    codes, names = pd.factorize(edges["name"].astype(str), sort=True)  # one line per name
    per_name = grouped_line_coords(edges.geometry.values, codes, len(names), network.crs)
    features = []
    for name, coords in zip(names, per_name, strict=True):
        tip = esc(name) if name else None
        features.append(lines_feature(coords, style=style, **({"tip": tip} if tip else {})))
    return feature_group("Streets", features, show=show, pane="sp-context")


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
    name = f"Street risk — {esc(label)} ({esc(window)})"
    return feature_group(name, features, show=show, pane="sp-context")


def school_colors(school_ids: Sequence[str]) -> dict[str, str]:
    """Corridor colour per school id (sorted ids, the palette repeating)."""
    ordered = sorted({str(s) for s in school_ids})
    return {s: SCHOOL_COLORS[i % len(SCHOOL_COLORS)] for i, s in enumerate(ordered)}


def _corridor_kind(source: Any) -> str:
    kind = CORRIDOR_KINDS.get(str(source))
    if kind is None:
        raise DataError(
            f"corridor source {source!r} is neither of {sorted(CORRIDOR_KINDS)}; "
            "result.corridors.source says where each corridor comes from"
        )
    return kind


def _corridor_style(color: str, source: str) -> dict[str, Any]:
    # wide and translucent over the risk layer: the risk colours show through
    style: dict[str, Any] = {"color": color, "weight": 11, "opacity": 0.45, "lineCap": "round"}
    if source == "designed":
        style |= {"dashArray": DESIGNED_DASH, "lineCap": "butt"}  # round caps close the gaps
    return style


def _corridor_popup(row: Any, kind: str, school_name: str) -> str:
    share = float(getattr(row, "matched_share", np.nan))
    return (
        f"<b>Route {esc(row.route_id)}</b> · {kind}<br>{esc(school_name)}<br>"
        f"Length: {float(row.length_m):,.0f} m<br>"
        f"Students served: {int(row.students_served):,}<br>"
        f"Risk exposure: {float(getattr(row, 'risk_exposure', np.nan)):.2f}"
        + (f"<br>Matched onto the streets: {share:.0%}" if np.isfinite(share) else "")
    )


def corridor_layer(
    corridors: gpd.GeoDataFrame, school_names: Mapping[str, str], colors: Mapping[str, str]
) -> folium.FeatureGroup:
    """Every school's corridors in one layer, in the school's colour.

    Designated routes (``source`` = ``designated``: the city's route matched
    onto the network) are drawn solid, designed corridors dashed; popup and
    tooltip say which.  ``school_names`` maps a school id to its (unescaped)
    name, ``colors`` a school id to its colour (:func:`school_colors`).
    """
    require_columns(
        corridors, ["route_id", "school_id", "length_m", "students_served", "source"], "corridors"
    )
    lines = _row_line_coords(corridors)
    features = []
    for row, coords in zip(corridors.itertuples(index=False), lines, strict=True):
        school_id = str(row.school_id)
        kind = _corridor_kind(row.source)
        name = school_names.get(school_id, school_id)
        features.append(
            lines_feature(
                coords,
                style=_corridor_style(colors[school_id], str(row.source)),
                popup=_corridor_popup(row, kind, name),
                tip=f"{esc(row.route_id)} · {kind} · {esc(name)}",
            )
        )
    return feature_group("Corridors", features, show=True)


def corridor_legend_rows(sources: set[str], colors: Mapping[str, str]) -> list[str]:
    """Legend rows: the corridor kinds present (solid/dashed), then each school's colour.

    ``colors`` maps an already escaped school name to its colour.
    """
    rows = [
        f"<div>{line_sample('#555555', dash='' if s == 'designated' else '6 4')} "
        f"{CORRIDOR_KINDS[s]}</div>"
        for s in ("designated", "designed")
        if s in sources
    ]
    rows += [
        f"<div>{line_sample(color, width=8, opacity=0.45)} {name}</div>"
        for name, color in colors.items()
    ]
    return rows


def _row_line_coords(table: gpd.GeoDataFrame) -> list[list[list[list[float]]]]:
    """:func:`line_coords` of each row's geometry, in row order."""
    return grouped_line_coords(table.geometry.values, np.arange(len(table)), len(table), table.crs)


def post_layer(
    posts: gpd.GeoDataFrame,
    schedule: pd.DataFrame,
    times: dict[tuple[str, str], str],
    *,
    selected: bool = True,
    passing: Mapping[str, int] | None = None,
    school_names: Mapping[str, str] | None = None,
) -> folium.FeatureGroup:
    """Chosen posts (filled circles with a popup) or the unchosen candidates (hollow).

    ``schedule`` is :func:`post_schedule`; ``times`` maps (school_id, window) to
    "HH:MM–HH:MM"; ``passing`` maps a post id to the students on its routes;
    ``school_names`` maps a school id to its name for the popup (the id when absent).
    """
    names = school_names or {}
    passing = passing or {}
    require_columns(posts, ["post_id", "school_id", "cross_streets", "selected"], "posts")
    posts = posts[posts["selected"].astype(bool) == selected]
    lonlat = point_coords(posts.geometry)
    workers = post_workers(schedule)
    if selected:
        style = {"radius": 7, "color": "#ffffff", "weight": 2, "fillColor": "#111111"}
    else:
        style = {"radius": 4, "color": "#555555", "weight": 1.5, "fill": False}
    style["fillOpacity"] = 0.95
    features = []
    for xy, post in zip(lonlat, posts.itertuples(index=False), strict=True):
        post_id = str(post.post_id)
        tip = f"{esc(post.post_id)}: {esc(post.cross_streets)}"
        served = _served_schools(post)
        mine = {w: workers[post_id, w] for w in WINDOWS if (post_id, w) in workers}
        popup = post_popup_html(
            post, times, mine, passing.get(post_id), [names.get(s, s) for s in served]
        )
        features.append(point_feature(xy, style=style, tip=tip, popup=popup))
    name = "Posts" if selected else "Candidate posts (not chosen)"
    return feature_group(name, features, show=selected, pane="sp-points")


def _served_schools(post: Any) -> list[str]:
    """The post's school and the others it serves (``school_ids``), once each, in order."""
    others = getattr(post, "school_ids", None)
    ids = [str(post.school_id), *(str(s) for s in (others if others is not None else []))]
    return list(dict.fromkeys(ids))


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
    return feature_group("Student origins (aggregated)", features, show=False, pane="sp-points")


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


# ------------------------------------------------------------------ route review
def _text(value: Any) -> str:
    """Escaped text of a table cell; empty for a missing value."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else esc(value)


def _num(value: Any, spec: str) -> str:
    number = float(value) if value is not None else np.nan
    return format(number, spec) if np.isfinite(number) else "—"


def _edge_ids(value: Any, n_edges: int, route_id: Any) -> NDArray[np.int64]:
    ids = np.asarray(value if value is not None else [], dtype=np.int64).ravel()
    if ids.size and (ids.min() < 0 or ids.max() >= n_edges):
        raise DataError(
            f"route {route_id!r}: edge ids {ids.tolist()} are not all rows of the "
            f"network's {n_edges} edges; the review and the network must come from the same plan"
        )
    return ids


def _review_popup(row: Any, school_name: str) -> str:
    """Route, school, riskiest stretch, matched share, and per window the review's numbers."""
    cells = "".join(
        f"<tr><td>{w.upper()}</td><td>{_num(getattr(row, f'students_{w}'), ',.0f')}</td>"
        f"<td>{_num(getattr(row, f'risk_{w}'), '.2f')}</td>"
        f"<td>{_num(getattr(row, f'exposure_{w}'), '.2f')}</td>"
        f"<td>{_num(getattr(row, f'uncovered_share_{w}'), '.0%')}</td></tr>"
        for w in WINDOWS
    )
    return (
        f"<b>Route {esc(row.route_id)}</b> · designated route<br>{esc(school_name)}<br>"
        f"Riskiest stretch: {_text(row.riskiest) or '—'}<br>"
        f"Matched onto the streets: {_num(row.matched_share, '.0%')}<br>"
        "<table><tr><th>Window</th><th>Students</th><th>Risk</th><th>Exposure</th>"
        f"<th>Uncovered</th></tr>{cells}</table>"
        "<small>Risk: weighted incidents / km / yr along the route; exposure: students × "
        "risk × km; uncovered: the school's exposure off every designated route</small>"
    )


def _riskiest_features(
    network: WalkNetwork, review: gpd.GeoDataFrame, school_names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each designated route's riskiest stretch as a thick highlighted line."""
    columns = ["route_id", "school_id", "matched_share", "riskiest", "riskiest_edge_ids"]
    columns += [f"{k}_{w}" for k in ("students", "risk", "exposure") for w in WINDOWS]
    require_columns(review, columns, "result.review")
    geometry = network.edges.geometry.values
    style = {"color": RISKIEST_COLOR, "weight": 9, "opacity": 0.9, "lineCap": "round"}
    rows = list(review.itertuples(index=False))
    ids = [_edge_ids(row.riskiest_edge_ids, len(geometry), row.route_id) for row in rows]
    of_row = np.repeat(np.arange(len(rows)), [len(i) for i in ids])
    stretches = np.concatenate([np.zeros(0, dtype=np.int64), *ids])
    lines = grouped_line_coords(geometry[stretches], of_row, len(rows), network.crs)
    features = []
    for row, coords in zip(rows, lines, strict=True):
        if not coords:
            continue
        name = school_names.get(str(row.school_id), str(row.school_id))
        tip = f"Riskiest stretch of route {esc(row.route_id)}: {_text(row.riskiest)}"
        popup = _review_popup(row, name)
        features.append(lines_feature(coords, style=style, popup=popup, tip=tip))
    return features


def _extension_features(
    extensions: gpd.GeoDataFrame, school_names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Proposed designed extensions of designated routes, dotted."""
    columns = ["extension_id", "school_id", "route_id", "length_m", "description"]
    require_columns(extensions, [*columns, "gain_am", "gain_pm", "gain_per_km"], "extensions")
    style = {"color": EXTENSION_COLOR, "weight": 6, "opacity": 0.95}
    style |= {"dashArray": EXTENSION_DASH, "lineCap": "round"}
    lines = _row_line_coords(extensions)
    features = []
    for row, coords in zip(extensions.itertuples(index=False), lines, strict=True):
        if not coords:
            continue
        name = school_names.get(str(row.school_id), str(row.school_id))
        popup = (
            f"<b>Proposed extension {esc(row.extension_id)}</b> of route {esc(row.route_id)}"
            f"<br>{esc(name)}<br>{_text(row.description)}<br>"
            f"Length: {_num(row.length_m, ',.0f')} m<br>"
            f"Exposure it covers: {_num(row.gain_am, '.2f')} am, {_num(row.gain_pm, '.2f')} pm"
            f"<br>Gain per km: {_num(row.gain_per_km, '.2f')}"
        )
        tip = f"Proposed extension: {_text(row.description)}"
        features.append(lines_feature(coords, style=style, popup=popup, tip=tip))
    return features


def review_layer(
    network: WalkNetwork,
    review: gpd.GeoDataFrame | None,
    extensions: gpd.GeoDataFrame | None,
    school_names: Mapping[str, str],
) -> folium.FeatureGroup:
    """The "Route review" layer: riskiest stretches of designated routes, proposed extensions.

    Shown at first only when it holds something.  ``review`` and ``extensions``
    have the columns of ``PlanResult.review`` and ``PlanResult.extensions``
    (plan CRS); ``riskiest_edge_ids`` are rows of ``network.edges``.
    """
    features = [] if review is None else _riskiest_features(network, review, school_names)
    if extensions is not None:
        features += _extension_features(extensions, school_names)
    return feature_group("Route review", features, show=bool(features), pane="sp-review")


def uncovered_layer(
    uncovered: gpd.GeoDataFrame, school_names: Mapping[str, str]
) -> folium.FeatureGroup:
    """Streets students walk outside every designated route, by exposure (hidden at first).

    One line per school and street, wider and darker with its student-weighted
    risk (the larger of the two windows); streets only, never an origin.
    """
    require_columns(
        uncovered, ["school_id", "edge_id", "street", "exposure_am", "exposure_pm"], "uncovered"
    )
    keys = [uncovered["school_id"].astype(str), uncovered["street"].fillna("").astype(str)]
    per_street = uncovered.groupby(keys, sort=True)
    exposure = per_street[["exposure_am", "exposure_pm"]].sum()
    breaks = risk_breaks(exposure.max(axis=1).to_numpy(dtype=np.float64), len(UNCOVERED_COLORS))
    lines = grouped_line_coords(
        uncovered.geometry.values, per_street.ngroup().to_numpy(), len(exposure), uncovered.crs
    )
    features = []
    for (school_id, street), (am, pm), coords in zip(
        exposure.index, exposure.to_numpy(), lines, strict=True
    ):
        cls = int(np.digitize(max(am, pm), breaks, right=False))
        style = {"color": UNCOVERED_COLORS[cls], "weight": 2.5 + 2 * cls, "opacity": 0.85}
        name = school_names.get(str(school_id), str(school_id))
        tip = (
            f"{esc(street) or 'Unnamed street'}: uncovered exposure {am:.2f} am, {pm:.2f} pm "
            f"(students × risk × km) · {esc(name)}"
        )
        features.append(lines_feature(coords, style=style, tip=tip))
    return feature_group("Uncovered streets", features, show=False, pane="sp-context")


def review_legend_rows(*, riskiest: bool, extensions: bool, uncovered: bool) -> list[str]:
    """Legend rows of the route review's lines that the map shows."""
    rows = []
    if riskiest:
        sample = line_sample(RISKIEST_COLOR, width=7)
        rows.append(f"<div>{sample} Riskiest stretch of a route</div>")
    if extensions:
        sample = line_sample(EXTENSION_COLOR, width=5, dash="0.1 7", cap="round")
        rows.append(f"<div>{sample} Proposed extension</div>")
    if uncovered:
        sample = line_sample(UNCOVERED_COLORS[-1], width=4)
        rows.append(f"<div>{sample} Walked off every designated route</div>")
    return rows


def legend(
    breaks: Sequence[float] | None,
    corridor_rows: Sequence[str],
    *,
    extra_rows: Sequence[str] = (),
    title: str = "",
    has_origins: bool = False,
) -> LegendControl:
    """A legend control: risk classes, corridors, review lines, posts, schools.

    ``breaks`` are the risk class breaks (None: no risk layer);
    ``corridor_rows`` come from :func:`corridor_legend_rows`, ``extra_rows``
    (e.g. :func:`review_legend_rows`) follow them; rows and ``title`` are HTML.
    """
    classes = []
    if breaks is not None:
        labels = _break_labels(breaks)
        classes = [
            (label, RISK_COLORS[min(i, len(RISK_COLORS) - 1)]) for i, label in enumerate(labels)
        ]
    html = legend_html(
        title, classes if breaks is not None else None, corridor_rows, extra_rows, has_origins
    )
    return LegendControl(html, position="bottomright")
