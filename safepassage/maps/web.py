"""Interactive plan maps: folium layers composed from small builders, optionally offline.

:func:`plan_map` composes the layer builders (:func:`street_layer`,
:func:`risk_layer`, :func:`uncovered_layer`, :func:`corridor_layer`,
:func:`review_layer`, :func:`post_layer`, :func:`school_layer`,
:func:`origin_layer`, :func:`incident_layer`, :func:`legend`) into one
:class:`folium.Map` with a layer switcher; :func:`save_map` writes it as HTML
that renders without internet.

Every table stays in the network's metric CRS until a builder converts its
own geometry to EPSG:4326.  Lines are merged, simplified by ``SIMPLIFY_M``
metres and rounded to ``DECIMALS`` decimals (about 1 m), and only streets
within ``area_m`` of the shown schools and corridors are drawn, which keeps a
citywide map to a few MB.  Every text from input files is HTML-escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from ..atomic import atomic_file
from ..errors import DataError
from .assets import (
    MAP_CSS,
    SIMPLIFY_M,
    Attribution,
    ExclusiveOverlays,
    edges_in_area,
    esc,
    inline_assets,
    require_columns,
    to_wgs84,
)
from .layers import (
    corridor_layer,
    corridor_legend_rows,
    incident_layer,
    legend,
    origin_layer,
    post_layer,
    review_layer,
    review_legend_rows,
    risk_breaks,
    risk_layer,
    school_colors,
    school_layer,
    street_layer,
    uncovered_layer,
)
from .plan_data import (
    PlanLike,
    RiskLike,
    post_schedule,
    school_names,
    select_schools,
    window_times,
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
    "review_layer",
    "risk_breaks",
    "risk_layer",
    "save_map",
    "school_layer",
    "select_schools",
    "street_layer",
    "students_passing",
    "uncovered_layer",
    "window_times",
]

logger = logging.getLogger(__name__)

AREA_M = 800.0
FIT_MARGIN_M = 150.0  # the map opens on the schools and corridors and this much around them
LEAN_JS = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js")]
LEAN_CSS = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css")]
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"
# Light and quiet tiles, so risk colours and corridors stand out.  CARTO's need an
# API key since August 2026 (without one every tile says so); keyless, the
# OpenStreetMap tiles are greyed by CSS (MAP_CSS: .sp-grey-tiles) instead.
BASEMAP_NAME = "Light basemap"
CARTO_POSITRON = "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png?key="
CARTO_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors '
    '&copy; <a href="https://carto.com/attributions">CARTO</a>'
)


def _shown_area(schools: gpd.GeoDataFrame, corridors: gpd.GeoDataFrame, area_m: float) -> Any:
    """Everything within ``area_m`` of the shown schools and their corridors (plan CRS)."""
    geoms = np.concatenate([schools.geometry.values, corridors.geometry.values])
    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    if geoms.size == 0:
        raise DataError("nothing to map: the chosen schools have no location and no corridor")
    return shapely.union_all(
        shapely.buffer(shapely.simplify(geoms, SIMPLIFY_M), area_m, quad_segs=4)
    )


def _tile_layer(carto_api_key: str | None) -> folium.TileLayer:
    """CARTO Positron with the key, else greyed OpenStreetMap tiles; each with its attribution."""
    if carto_api_key:
        return folium.TileLayer(
            CARTO_POSITRON + quote(carto_api_key, safe=""),
            attr=CARTO_ATTRIBUTION,
            name=f"{BASEMAP_NAME} (CARTO Positron)",
            subdomains="abcd",
            max_zoom=20,
        )
    name = f"{BASEMAP_NAME} (OpenStreetMap, greyed)"
    return folium.TileLayer("OpenStreetMap", name=name, class_name="sp-grey-tiles")


def _base_map(
    content: Any, crs: Any, *, self_contained: bool, carto_api_key: str | None
) -> folium.Map:
    """An empty map fitted to ``content`` (geometries in ``crs``) and a margin, with CSS."""
    # The bounds widened by the margin, not the bounds of a buffer: buffering the citywide
    # corridors took seconds (the result was on a 1e-5 m grid, so GEOS seems to have
    # retried at reduced precision) for a box that differs by under a metre.
    margin = np.array([-1.0, -1.0, 1.0, 1.0]) * FIT_MARGIN_M
    minx, miny, maxx, maxy = shapely.total_bounds(content) + margin
    lon, lat = to_wgs84(crs).transform([minx, maxx], [miny, maxy])
    m = folium.Map(
        location=[(lat[0] + lat[1]) / 2, (lon[0] + lon[1]) / 2],
        tiles=None,
        zoom_start=14,
        control_scale=True,
    )
    if self_contained:
        # instance attributes: only Leaflet is needed, not jQuery/Bootstrap/awesome-markers
        m.default_js = list(LEAN_JS)
        m.default_css = list(LEAN_CSS)
        Attribution(OSM_ATTRIBUTION).add_to(m)
    else:
        _tile_layer(carto_api_key).add_to(m)
    figure: Any = m.get_root()
    figure.header.add_child(folium.Element(MAP_CSS), name="safepassage_css")
    m.fit_bounds([[lat[0], lon[0]], [lat[1], lon[1]]])
    return m


def _posts_of(posts: gpd.GeoDataFrame, school_ids: set[str]) -> gpd.GeoDataFrame:
    """Posts whose school, or one of the others they serve (``school_ids``), is shown."""

    def serves(school: Any, more: Any) -> bool:
        others = more if more is not None else []
        return str(school) in school_ids or any(str(s) in school_ids for s in others)

    if posts.empty:
        return posts
    others = posts["school_ids"] if "school_ids" in posts else [None] * len(posts)
    shown = [serves(s, more) for s, more in zip(posts["school_id"], others, strict=True)]
    return posts[np.asarray(shown, dtype=bool)]


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
    layers = [
        risk_layer(result.network, rows, window, edge_ids=edge_ids, breaks=breaks, show=i == 0)
        for i, window in enumerate(windows)
    ]
    for layer in layers:
        layer.add_to(m)
    ExclusiveOverlays(layers).add_to(m)  # one window at a time: they share colours
    return breaks


def _of_schools(table: gpd.GeoDataFrame | None, ids: set[str]) -> gpd.GeoDataFrame | None:
    if table is None:
        return None
    require_columns(table, ["school_id"], "a route review table")
    return table[table["school_id"].astype(str).isin(ids)]


def _add_corridors(m: folium.Map, corridors: gpd.GeoDataFrame, names: dict[str, str]) -> list[str]:
    """All corridors in one layer, a colour per school; returns their legend rows."""
    colors = school_colors(list(corridors["school_id"].astype(str)))
    corridor_layer(corridors, names, colors).add_to(m)
    sources = set(corridors["source"].astype(str))
    by_name = {esc(names.get(school_id, school_id)): c for school_id, c in colors.items()}
    return corridor_legend_rows(sources, by_name)


def _add_uncovered(
    m: folium.Map, result: PlanLike, ids: set[str], names: dict[str, str]
) -> list[str]:
    """The uncovered streets layer (hidden) when the plan has one; returns its legend rows."""
    uncovered = _of_schools(result.uncovered, ids)
    if uncovered is None:
        return []
    uncovered_layer(uncovered, names).add_to(m)
    return review_legend_rows(riskiest=False, extensions=False, uncovered=not uncovered.empty)


def _add_review(m: folium.Map, result: PlanLike, ids: set[str], names: dict[str, str]) -> list[str]:
    """The route review layer when the plan has a review; returns its legend rows."""
    review = _of_schools(result.review, ids)
    extensions = _of_schools(result.extensions, ids)
    if review is None and extensions is None:
        return []
    review_layer(result.network, review, extensions, names).add_to(m)
    has_riskiest = review is not None and any(
        len(e) for e in review["riskiest_edge_ids"] if e is not None
    )
    has_extensions = extensions is not None and not extensions.empty
    return review_legend_rows(riskiest=has_riskiest, extensions=has_extensions, uncovered=False)


def plan_map(
    result: PlanLike,
    school_ids: Sequence[str] | None = None,
    *,
    windows: Sequence[str] = ("am", "pm"),
    incidents: gpd.GeoDataFrame | None = None,
    self_contained: bool = False,
    area_m: float = AREA_M,
    carto_api_key: str | None = None,
) -> folium.Map:
    """An interactive map of a plan with a layer switcher and a legend.

    Layers (bottom to top): a light tile basemap (online only: CARTO
    Positron with ``carto_api_key``, else greyed OpenStreetMap tiles); the
    network's streets (the basemap when ``self_contained``, else switchable
    and hidden); street risk per window (the first shown; switching one on
    switches the others off); uncovered streets (hidden, when the plan has
    ``uncovered``); "Corridors", one layer for every school, coloured by school,
    designated routes solid and designed corridors dashed; "Route review"
    (riskiest stretch of each designated route, proposed extensions dotted;
    shown when it holds something, absent without ``review`` and
    ``extensions``); candidate posts (hidden); aggregated student origins
    (hidden; under ``result.min_students`` never drawn); incidents heat
    (hidden, when ``incidents`` is given); posts; schools.  Popups name the
    school, never only its id.

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
        Request no web tiles (the network's streets are the basemap) and link
        only Leaflet, so :func:`save_map` can inline everything.
    area_m
        Streets farther than this from the shown schools and corridors are
        not drawn, metres.
    carto_api_key
        A CARTO basemaps key (https://carto.com/basemaps/apikey/) for the
        Positron tiles of an online map; it is written into the page.
    """
    schools = select_schools(result, school_ids)
    ids = set(schools["school_id"].astype(str))
    names = school_names(result)
    corridors = result.corridors[result.corridors["school_id"].astype(str).isin(ids)]
    network = result.network
    area = _shown_area(schools, corridors, area_m)
    edge_ids = edges_in_area(network, area)
    content = np.concatenate([schools.geometry.values, corridors.geometry.values])
    m = _base_map(content, network.crs, self_contained=self_contained, carto_api_key=carto_api_key)
    street_layer(network, edge_ids, show=self_contained).add_to(m)
    breaks = _add_risk(m, result, windows, edge_ids)
    uncovered_rows = _add_uncovered(m, result, ids, names)
    corridor_rows = _add_corridors(m, corridors, names)
    review_rows = _add_review(m, result, ids, names) + uncovered_rows
    posts = _posts_of(result.posts, ids)
    schedule, times = post_schedule(result), window_times(result)
    passing = students_passing(posts, result.corridors)
    if (~posts["selected"].astype(bool)).any():
        post_layer(posts, schedule, times, selected=False, school_names=names).add_to(m)
    origins = result.origins
    if origins is not None:
        origins = origins[origins["school_id"].astype(str).isin(ids)]
        origin_layer(origins, result.min_students).add_to(m)
    if incidents is not None:
        incident_layer(incidents, area=area, area_crs=network.crs).add_to(m)
    post_layer(posts, schedule, times, passing=passing, school_names=names).add_to(m)
    school_layer(schools).add_to(m)
    title = " · ".join(esc(part) for part in (result.plan_name, result.plan_date) if part)
    legend(
        breaks, corridor_rows, extra_rows=review_rows, title=title, has_origins=origins is not None
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
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
    path = Path(path)
    with atomic_file(path, mode=0o644) as part:  # maps are meant to be shared
        part.write_bytes(page.encode("utf-8"))
    logger.info("wrote map %s (%.1f kB)", path, path.stat().st_size / 1e3)
    return path
