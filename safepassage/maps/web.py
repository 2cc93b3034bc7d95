"""Interactive plan maps: folium layers composed from small builders, optionally offline.

:func:`plan_map` composes the layer builders (:func:`street_layer`,
:func:`risk_layer`, :func:`corridor_layer`, :func:`post_layer`,
:func:`school_layer`, :func:`origin_layer`, :func:`incident_layer`,
:func:`legend`) into one :class:`folium.Map` with a layer switcher;
:func:`save_map` writes it as HTML that renders without internet.

Every table stays in the network's metric CRS until a builder converts its
own geometry to EPSG:4326.  Lines are merged, simplified by ``SIMPLIFY_M``
metres and rounded to ``DECIMALS`` decimals (about 1 m), and only streets
within ``area_m`` of the shown schools and corridors are drawn, which keeps a
citywide map to a few MB.  Every text from input files is HTML-escaped.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

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
from ._assets import (
    MAP_CSS,
    SIMPLIFY_M,
    Attribution,
    LegendControl,
    edges_in_area,
    esc,
    feature_group,
    inline_assets,
    legend_html,
    line_coords,
    lines_feature,
    point_coords,
    point_feature,
    post_popup_html,
    require_columns,
    to_wgs84,
    undirected_edges,
    write_atomic,
)

__all__ = [
    "PlanLike",
    "RiskLike",
    "corridor_layer",
    "incident_layer",
    "legend",
    "origin_layer",
    "plan_map",
    "post_layer",
    "post_schedule",
    "risk_breaks",
    "risk_layer",
    "save_map",
    "school_layer",
    "select_schools",
    "street_layer",
    "students_passing",
    "window_times",
]

logger = logging.getLogger(__name__)

AREA_M = 800.0
WINDOW_LABELS = {"am": "morning", "pm": "afternoon"}
# YlOrRd: light to dark, so the classes also differ in grey; weights grow with risk too.
RISK_COLORS = ("#fed976", "#feb24c", "#fd8d3c", "#e31a1c", "#800026")
_PALETTE = "#1f4e9e #6a3d9a #00796b #b15928 #c2185b #33691e #01579b #4e342e #ad1457 #283593"
SCHOOL_COLORS = tuple(_PALETTE.split())  # dark, distinct hues: corridors per school
LEAN_JS = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js")]
LEAN_CSS = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css")]
HEAT_URL = "https://cdn.jsdelivr.net/npm/leaflet.heat@0.2.0/dist/leaflet-heat.js"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


class RiskLike(Protocol):
    """A risk surface: ``table`` has ``edge_id``, ``window`` (am/pm), ``risk`` (per km per year)."""

    @property
    def table(self) -> pd.DataFrame: ...


class PlanLike(Protocol):
    """What the maps read from a plan result (all tables in the network's metric CRS).

    Attributes
    ----------
    network
        The walk network (its edges are the streets drawn).
    schools
        ``school_id``, ``name``, ``grades``, ``bell_start``, ``bell_end`` (HH:MM),
        ``node``, geometry (Point).
    risk
        ``.table`` with ``edge_id``, ``window``, ``risk`` (weighted incidents per
        km per year), or None.
    corridors
        ``route_id``, ``school_id``, ``length_m``, ``students_served``,
        ``risk_exposure``, ``edge_ids``, geometry ((Multi)LineString).
    origins
        ``origin_id``, ``school_id``, ``students`` (aggregates), geometry (Point), or None.
    posts
        ``post_id``, ``node``, ``school_id``, ``school_ids``, ``route_ids``,
        ``cross_streets``, ``value_am``, ``value_pm``, ``selected``, geometry (Point).
    roster
        ``worker_id``, ``vendor_id``, ``post_id``, ``school_id``, ``weekday``
        (Mon..Fri), ``window``, ``start``, ``end`` (HH:MM), ``minutes``; or None.
    vendors
        ``vendor_id``, ``name``, ``school_ids`` (list of str).
    windows
        ``school_id``, ``window``, ``start``, ``end`` (HH:MM).
    plan_name, plan_date, min_students
        Title, ISO date, and the smallest origin that may be shown.
    """

    @property
    def network(self) -> WalkNetwork: ...
    @property
    def schools(self) -> gpd.GeoDataFrame: ...
    @property
    def risk(self) -> RiskLike | None: ...
    @property
    def corridors(self) -> gpd.GeoDataFrame: ...
    @property
    def origins(self) -> gpd.GeoDataFrame | None: ...
    @property
    def posts(self) -> gpd.GeoDataFrame: ...
    @property
    def roster(self) -> pd.DataFrame | None: ...
    @property
    def vendors(self) -> pd.DataFrame: ...
    @property
    def windows(self) -> pd.DataFrame: ...
    @property
    def plan_name(self) -> str: ...
    @property
    def plan_date(self) -> str: ...
    @property
    def min_students(self) -> int: ...


# ------------------------------------------------------------------ helpers
def select_schools(result: PlanLike, school_ids: Sequence[str] | None) -> gpd.GeoDataFrame:
    """The schools to show (all when ``school_ids`` is None); unknown ids raise DataError."""
    schools = result.schools
    require_columns(schools, ["school_id", "name"], "result.schools")
    if school_ids is None:
        return schools
    wanted = [str(s) for s in school_ids]
    unknown = sorted(set(wanted) - set(schools["school_id"].astype(str)))
    if unknown:
        raise DataError(f"school_ids {unknown} are not in result.schools; pick from its school_id")
    return schools[schools["school_id"].astype(str).isin(wanted)]


def post_schedule(result: PlanLike) -> pd.DataFrame:
    """One row per assigned worker shift, joined to the school's window times.

    Returns
    -------
    pandas.DataFrame
        ``post_id``, ``window``, ``weekday``, ``worker_id``, ``start``,
        ``end`` (HH:MM; the roster's shift, else the school's window).
    """
    columns = ["post_id", "window", "weekday", "worker_id", "start", "end"]
    roster = result.roster
    if roster is None or roster.empty:
        return pd.DataFrame(columns=columns)
    require_columns(roster, columns, "result.roster")
    return roster[columns].astype(str).sort_values(["post_id", "window", "weekday", "worker_id"])


def window_times(result: PlanLike) -> dict[tuple[str, str], str]:
    """``(school_id, window) -> "HH:MM–HH:MM"`` from ``result.windows``."""
    windows = result.windows
    require_columns(windows, ["school_id", "window", "start", "end"], "result.windows")
    return {
        (str(r.school_id), str(r.window)): f"{r.start}–{r.end}"
        for r in windows.itertuples(index=False)
    }


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
) -> folium.FeatureGroup:
    """Street segments coloured (and thickened) by risk class for one time window.

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


def _shown_area(schools: gpd.GeoDataFrame, corridors: gpd.GeoDataFrame, area_m: float) -> Any:
    """Everything within ``area_m`` of the shown schools and their corridors (plan CRS)."""
    geoms = np.concatenate([schools.geometry.values, corridors.geometry.values])
    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    if geoms.size == 0:
        raise DataError("nothing to map: the chosen schools have no location and no corridor")
    return shapely.union_all(
        shapely.buffer(shapely.simplify(geoms, SIMPLIFY_M), area_m, quad_segs=4)
    )


def _base_map(content: Any, crs: Any, *, self_contained: bool) -> folium.Map:
    """An empty map fitted to ``content`` (a geometry in ``crs``), with CSS and attribution."""
    minx, miny, maxx, maxy = shapely.buffer(content, 150.0).bounds
    lon, lat = to_wgs84(crs).transform([minx, maxx], [miny, maxy])
    m = folium.Map(
        location=[(lat[0] + lat[1]) / 2, (lon[0] + lon[1]) / 2],
        tiles=None if self_contained else "OpenStreetMap",
        zoom_start=14,
        control_scale=True,
    )
    if self_contained:
        # instance attributes: only Leaflet is needed, not jQuery/Bootstrap/awesome-markers
        m.default_js = list(LEAN_JS)
        m.default_css = list(LEAN_CSS)
        Attribution(OSM_ATTRIBUTION).add_to(m)
    figure: Any = m.get_root()
    figure.header.add_child(folium.Element(MAP_CSS), name="safepassage_css")
    m.fit_bounds([[lat[0], lon[0]], [lat[1], lon[1]]])
    return m


def _posts_of(posts: gpd.GeoDataFrame, school_ids: set[str]) -> gpd.GeoDataFrame:
    def serves(row: Any) -> bool:
        others = row["school_ids"] if "school_ids" in row and row["school_ids"] is not None else []
        return str(row["school_id"]) in school_ids or any(str(s) in school_ids for s in others)

    if posts.empty:
        return posts
    return posts[posts.apply(serves, axis=1).to_numpy(dtype=bool)]


def students_passing(posts: gpd.GeoDataFrame, corridors: gpd.GeoDataFrame) -> dict[str, int]:
    """Students on the routes of each post: sum of ``students_served`` over its ``route_ids``."""
    if "route_ids" not in posts or "students_served" not in corridors:
        return {}
    served = dict(zip(corridors["route_id"].astype(str), corridors["students_served"], strict=True))
    return {
        str(post_id): int(sum(served.get(str(r), 0) for r in (routes or [])))
        for post_id, routes in zip(posts["post_id"], posts["route_ids"], strict=True)
    }


def _add_risk(
    m: folium.Map, result: PlanLike, windows: Sequence[str], edge_ids: NDArray[np.int64]
) -> list[float] | None:
    if result.risk is None:
        return None
    table = result.risk.table
    require_columns(table, ["edge_id", "window", "risk"], "result.risk.table")
    rows = table[table["window"].isin(windows) & table["edge_id"].isin(edge_ids)]
    breaks = risk_breaks(rows["risk"].to_numpy(dtype=np.float64))
    for i, window in enumerate(windows):
        layer = risk_layer(
            result.network, rows, window, edge_ids=edge_ids, breaks=breaks, show=i == 0
        )
        layer.add_to(m)
    return breaks


def plan_map(
    result: PlanLike,
    school_ids: Sequence[str] | None = None,
    *,
    windows: Sequence[str] = ("am", "pm"),
    incidents: gpd.GeoDataFrame | None = None,
    self_contained: bool = False,
    area_m: float = AREA_M,
) -> folium.Map:
    """An interactive map of a plan with a layer switcher and a legend.

    Layers (bottom to top): streets, street risk per window (the first shown,
    the others switchable), corridors per school, candidate posts (hidden),
    aggregated student origins (hidden; under ``result.min_students`` never
    drawn), incidents heat (hidden, when ``incidents`` is given), posts, schools.

    Parameters
    ----------
    result
        A plan (see :class:`PlanLike`).
    school_ids
        Schools to show with their corridors, posts and origins; all when None.
    windows
        Risk windows to draw, one layer each.
    incidents
        Optional incident points (any CRS, optional ``weight`` column) for a heat layer.
    self_contained
        Draw no web tiles (the network's streets are the basemap) and link
        only Leaflet, so :func:`save_map` can inline everything.
    area_m
        Streets farther than this from the shown schools and corridors are
        not drawn, metres.
    """
    schools = select_schools(result, school_ids)
    ids = set(schools["school_id"].astype(str))
    corridors = result.corridors[result.corridors["school_id"].astype(str).isin(ids)]
    network = result.network
    area = _shown_area(schools, corridors, area_m)
    edge_ids = edges_in_area(network, area)
    content = shapely.union_all(
        np.concatenate([schools.geometry.values, corridors.geometry.values])
    )
    m = _base_map(content, network.crs, self_contained=self_contained)
    street_layer(network, edge_ids).add_to(m)
    breaks = _add_risk(m, result, windows, edge_ids)
    names = dict(zip(result.schools["school_id"].astype(str), result.schools["name"], strict=True))
    colors: dict[str, str] = {}
    for i, (school_id, routes) in enumerate(corridors.groupby(corridors["school_id"].astype(str))):
        color = SCHOOL_COLORS[i % len(SCHOOL_COLORS)]
        name = str(names.get(str(school_id), school_id))
        corridor_layer(routes, name, color=color).add_to(m)
        colors[esc(name)] = color
    posts = _posts_of(result.posts, ids)
    schedule, times = post_schedule(result), window_times(result)
    passing = students_passing(posts, result.corridors)
    if (~posts["selected"].astype(bool)).any():
        post_layer(posts, schedule, times, selected=False).add_to(m)
    origins = result.origins
    if origins is not None:
        origins = origins[origins["school_id"].astype(str).isin(ids)]
        origin_layer(origins, result.min_students).add_to(m)
    if incidents is not None:
        incident_layer(incidents, area=area, area_crs=network.crs).add_to(m)
    post_layer(posts, schedule, times, selected=True, passing=passing).add_to(m)
    school_layer(schools).add_to(m)
    title = f"{esc(result.plan_name)} · {esc(result.plan_date)}"
    legend(breaks, colors, title=title, has_origins=origins is not None).add_to(m)
    folium.LayerControl(collapsed=len(colors) > 12).add_to(m)
    return m


def save_map(m: folium.Map, path: str | Path, *, self_contained: bool = True) -> Path:
    """Write the map as one HTML file, atomically (temporary file, then rename).

    With ``self_contained`` every external script and stylesheet is inlined
    (Leaflet, leaflet.heat) or dropped (jQuery, Bootstrap, Font Awesome are
    unused), so the page renders without internet.  Returns the path.
    """
    page = m.get_root().render()
    if self_contained:
        page = inline_assets(page)
    path = write_atomic(Path(path), lambda tmp: tmp.write_bytes(page.encode("utf-8")))
    logger.info("wrote map %s (%.1f kB)", path, path.stat().st_size / 1e3)
    return path
