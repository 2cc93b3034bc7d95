"""Building blocks of the maps: offline assets, escaping, compact GeoJSON layers, geometry.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs, so a saved
page opened without internet is blank.  The maps in :mod:`safepassage.maps.web`
need only Leaflet (and leaflet.heat for the incident heat layer); both are
vendored under ``assets/`` (BSD-2-Clause, licence files beside them) and
inlined into the page by :func:`inline_assets`.

The helpers at the end (column checks, lon/lat conversion with merging,
simplification and rounding, one edge per street segment) are shared by
:mod:`~safepassage.maps.web` and :mod:`~safepassage.maps.printed`.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template
from numpy.typing import NDArray
from pyproj import Transformer

from ..crs import WGS84
from ..errors import SafePassageError, require_columns
from ..routes.network import WalkNetwork
from ..schedule import WINDOWS, weekday_order

__all__ = [
    "MAP_CSS",
    "PANES",
    "Attribution",
    "ExclusiveOverlays",
    "GeoJsonLayer",
    "LegendControl",
    "edges_in_area",
    "esc",
    "feature_group",
    "grouped_line_coords",
    "inline_assets",
    "legend_html",
    "line_coords",
    "line_sample",
    "lines_feature",
    "point_coords",
    "point_feature",
    "post_popup_html",
    "post_workers",
    "require_columns",
    "script_json",
    "to_wgs84",
    "undirected_edges",
]

# URL patterns of the links folium emits -> vendored file that replaces it.
_VENDORED = (
    (re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.js$"), "leaflet.js"),
    (re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.css$"), "leaflet.css"),
    (re.compile(r"leaflet[_.-]heat(\.min)?\.js$"), "leaflet-heat.js"),
)
# Links folium adds by default that the maps of this package never use.
_UNUSED = re.compile(r"jquery|bootstrap|awesome|fontawesome|glyphicons", re.IGNORECASE)
_SCRIPT_LINK = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>')
_CSS_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>')
_JQUERY_USE = re.compile(r"\$\(|jQuery\(")


def esc(text: Any) -> str:
    """HTML-escape text from input files for popups, tooltips and layer names.

    Besides ``& < > " '`` this escapes the backtick and ``$``, because folium
    places some strings inside JavaScript template literals.
    """
    return html.escape(str(text), quote=True).replace("`", "&#96;").replace("$", "&#36;")


def script_json(value: Any) -> str:
    """JSON for embedding inside a ``<script>`` block (no ``</`` can end the block)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


@cache
def _asset(name: str) -> bytes:
    return (resources.files("safepassage.maps") / "assets" / name).read_bytes()


def _leaflet_css() -> str:
    """leaflet.css with its layer-control icons as data URIs (marker images are unused)."""
    css = _asset("leaflet.css").decode("utf-8")
    for image in ("layers.png", "layers-2x.png"):
        uri = "data:image/png;base64," + base64.b64encode(_asset(image)).decode("ascii")
        css = css.replace(f"url(images/{image})", f"url({uri})")
    return css


def _vendored_name(url: str) -> str | None:
    for pattern, name in _VENDORED:
        if pattern.search(url):
            return name
    return None


def inline_assets(page: str) -> str:
    """Replace every external script and stylesheet link of a folium page.

    Leaflet and leaflet.heat are inlined from the vendored copies; jQuery,
    Bootstrap and Font Awesome links are dropped because the maps of this
    package do not use them.

    Raises
    ------
    SafePassageError
        If the page calls jQuery (e.g. a ``folium.Popup`` was added by hand) or
        links a resource with no vendored copy; build the layers with the
        builders of :mod:`safepassage.maps.web` or save with
        ``self_contained=False``.
    """
    body_scripts = _SCRIPT_LINK.sub("", page)
    if _JQUERY_USE.search(body_scripts):
        raise SafePassageError(
            "this map calls jQuery (folium.Popup or keep_in_front add it), which is not "
            "vendored; use the layer builders of safepassage.maps.web or save it with "
            "self_contained=False"
        )

    def script(match: re.Match[str]) -> str:
        url = match.group(1)
        name = _vendored_name(url)
        if name is not None:
            return (
                "<script>"
                + _asset(name).decode("utf-8").replace("</script", "<\\/script")
                + "</script>"
            )
        if _UNUSED.search(url):
            return ""
        raise SafePassageError(
            f"cannot make the map self-contained: no vendored copy of script {url}; "
            "remove the element that needs it or save with self_contained=False"
        )

    def stylesheet(match: re.Match[str]) -> str:
        url = match.group(1)
        if _vendored_name(url) == "leaflet.css":
            return "<style>" + _leaflet_css() + "</style>"
        if _UNUSED.search(url):
            return ""
        raise SafePassageError(
            f"cannot make the map self-contained: no vendored copy of stylesheet {url}; "
            "remove the element that needs it or save with self_contained=False"
        )

    return _CSS_LINK.sub(stylesheet, _SCRIPT_LINK.sub(script, page))


# Map panes by stacking order (Leaflet's overlay pane is 400, markers 600).  A layer
# switched on again is drawn on top of its pane, so context lines get their own
# pane under the corridors, and review lines and post points theirs above them.
PANES = {"sp-context": 350, "sp-review": 420, "sp-points": 450}


def _enclosing_map(element: Any) -> folium.Map:
    node = element
    while node is not None and not isinstance(node, folium.Map):
        node = getattr(node, "_parent", None)
    if node is None:
        raise SafePassageError("a layer drawn in a map pane must be added to a folium.Map")
    return node


class _Verbatim(Element):
    """Page text written as it is (a branca ``Element`` would compile it as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text.removesuffix("\n")

    def render(self, **kwargs: Any) -> str:
        return self.text


class _ScriptElement(MacroElement):
    """A MacroElement whose rendered ``script`` macro goes into the page as it is.

    ``MacroElement.render`` wraps the rendered script in an ``Element``, which
    compiles it as a Jinja template a second time: seconds for the MBs of
    GeoJSON of a citywide map, and any ``{{`` or ``{%`` of the data (a name
    from an input file) would be read as template syntax.  Jinja drops one
    trailing newline of a template, so does this: the page is otherwise the same.
    """

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise SafePassageError("a map element is rendered inside a folium Figure (a map)")
        script = self._template.module.__dict__["script"](self, kwargs)
        figure.script.add_child(_Verbatim(script), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)
        return ""  # like a MacroElement, it places nothing where it is rendered


class GeoJsonLayer(_ScriptElement):
    """Add a compact GeoJSON FeatureCollection to its parent (a FeatureGroup).

    Each feature's ``properties`` may hold ``style`` (Leaflet path options; for
    points also ``radius``), ``icon`` (HTML of a ``L.divIcon``; points only),
    ``popup`` and ``tip`` (HTML, already escaped).  ``pane`` is one of
    :data:`PANES` (None: Leaflet's overlay pane).  Plain Leaflet only: no
    jQuery, no per-feature JavaScript variables.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% if this.pane %}
        (function (map, name) {
            if (!map.getPane(name)) { map.createPane(name).style.zIndex = {{ this.z_index }}; }
        })({{ this.map_name }}, {{ this.pane|tojson }});
        {% endif %}
        L.geoJSON({{ this.data }}, {
            {% if this.pane %}pane: {{ this.pane|tojson }},{% endif %}
            style: function (f) { return f.properties.style || {}; },
            pointToLayer: function (f, ll) {
                var p = f.properties;
                if (p.icon) {
                    return L.marker(ll, {icon: L.divIcon({
                        className: "sp-icon", html: p.icon, iconSize: p.iconSize || [16, 16]
                    })});
                }
                return L.circleMarker(ll, L.extend(
                    {{ {"pane": this.pane}|tojson if this.pane else "{}" }}, p.style || {}
                ));
            },
            onEachFeature: function (f, layer) {
                var p = f.properties;
                if (p.popup) { layer.bindPopup(p.popup, {maxWidth: 380}); }
                if (p.tip) { layer.bindTooltip(p.tip, {sticky: true}); }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, features: list[dict[str, Any]], *, pane: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GeoJsonLayer"
        self.data = script_json({"type": "FeatureCollection", "features": features})
        if pane is not None and pane not in PANES:
            raise ValueError(f"pane {pane!r} is not one of {sorted(PANES)}")
        self.pane = pane
        self.z_index = PANES.get(pane or "", 0)

    @property
    def map_name(self) -> str:
        """The enclosing map's JavaScript name: the pane is made on first use, on any map."""
        return str(_enclosing_map(self).get_name())


class LegendControl(_ScriptElement):
    """A Leaflet control holding ready-made (escaped) HTML, e.g. a legend."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "sp-legend");
                div.innerHTML = {{ this.content }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, content_html: str, *, position: str = "bottomright") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "LegendControl"
        self.content = script_json(content_html)
        self.position = position


class Attribution(_ScriptElement):
    """Add an attribution (escaped HTML) to the map's attribution control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text }});
        {% endmacro %}
        """
    )

    def __init__(self, text_html: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Attribution"
        self.text = script_json(text_html)


class ExclusiveOverlays(_ScriptElement):
    """Make overlay layers of the map's layer control exclusive, like radio buttons.

    Switching one of ``layers`` on switches the others off.  The removal waits
    for the layer control to finish handling the click, so its checkboxes
    update too.  Plain Leaflet events (``overlayadd``), inline: nothing to fetch.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var group = [{{ this.layer_names|join(", ") }}];
            map.on("overlayadd", function (e) {
                if (group.indexOf(e.layer) < 0) { return; }
                setTimeout(function () {
                    group.forEach(function (layer) {
                        if (layer !== e.layer && map.hasLayer(layer)) { map.removeLayer(layer); }
                    });
                }, 0);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layers: Sequence[folium.FeatureGroup]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "ExclusiveOverlays"
        self.layer_names = [layer.get_name() for layer in layers]


# ------------------------------------------------------------ tables and geometry
SIMPLIFY_M = 4.0
DECIMALS = 5


_TRANSFORMERS = threading.local()  # pyproj transformers are not shared between threads


def to_wgs84(crs: Any) -> Transformer:
    """A transformer from ``crs`` to lon/lat, made once per CRS (and thread).

    Building one costs milliseconds (a PROJ database lookup); a citywide map
    converts thousands of geometry batches, so the transformer is reused.
    """
    cache: dict[Any, Transformer] = _TRANSFORMERS.__dict__.setdefault("by_crs", {})
    try:
        transformer = cache.get(crs)
    except TypeError:  # an unhashable CRS description (e.g. a dict): not cached
        return Transformer.from_crs(crs, WGS84, always_xy=True)
    if transformer is None:
        transformer = cache[crs] = Transformer.from_crs(crs, WGS84, always_xy=True)
    return transformer


def line_coords(geoms: Any, crs: Any) -> list[list[list[float]]]:
    """Merged, simplified lines as lon/lat coordinate lists rounded to ``DECIMALS``."""
    geoms = np.asarray(geoms, dtype=object)
    return grouped_line_coords(geoms, np.zeros(len(geoms), dtype=np.int64), 1, crs)[0]


def grouped_line_coords(
    geoms: Any, groups: Any, n_groups: int, crs: Any
) -> list[list[list[list[float]]]]:
    """:func:`line_coords` of each group of ``geoms`` (``groups``: 0 .. ``n_groups`` - 1).

    Group ``g`` gets exactly what ``line_coords(geoms[groups == g], crs)``
    returns (an empty list for a group without lines), but the merging,
    simplification and reprojection run once over all groups, not per group.
    """
    geoms = np.asarray(geoms, dtype=object).ravel()
    groups = np.asarray(groups, dtype=np.int64).ravel()
    out: list[list[list[list[float]]]] = [[] for _ in range(n_groups)]
    parts, of_geom = shapely.get_parts(geoms, return_index=True)
    keep = ~shapely.is_empty(parts)
    parts, of_part = parts[keep], groups[of_geom[keep]]
    if parts.size == 0:
        return out
    order = np.argsort(of_part, kind="stable")  # each group's lines in their given order
    present, dense = np.unique(of_part[order], return_inverse=True)
    multi = shapely.multilinestrings(parts[order], indices=dense)
    merged, of_merged = shapely.get_parts(shapely.line_merge(multi), return_index=True)
    simple = shapely.simplify(merged, SIMPLIFY_M)
    xy, index = shapely.get_coordinates(simple, return_index=True)
    if len(xy) == 0:
        return out
    lon, lat = to_wgs84(crs).transform(xy[:, 0], xy[:, 1])
    coords = np.round(np.column_stack([lon, lat]), DECIMALS).tolist()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(index)) + 1, [len(index)]])
    owners = present[of_merged[index[starts[:-1]]]].tolist()
    for start, end, owner in zip(starts[:-1].tolist(), starts[1:].tolist(), owners, strict=True):
        if end - start >= 2:
            out[owner].append(coords[start:end])
    return out


def point_coords(points: gpd.GeoSeries) -> NDArray[np.float64]:
    xy = shapely.get_coordinates(points.values)
    lon, lat = to_wgs84(points.crs).transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), DECIMALS)


def lines_feature(coords: list[list[list[float]]], **props: Any) -> dict[str, Any]:
    geometry = {"type": "MultiLineString", "coordinates": coords}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def point_feature(lonlat: Sequence[float], **props: Any) -> dict[str, Any]:
    geometry = {"type": "Point", "coordinates": [float(lonlat[0]), float(lonlat[1])]}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def feature_group(
    name: str, features: list[dict[str, Any]], *, show: bool, pane: str | None = None
) -> folium.FeatureGroup:
    """A switchable layer drawing ``features`` (in ``pane``, one of :data:`PANES`)."""
    group = folium.FeatureGroup(name=name, show=show)
    GeoJsonLayer(features, pane=pane).add_to(group)
    return group


def edges_in_area(network: WalkNetwork, area: Any) -> NDArray[np.int64]:
    """Ids of edges that intersect ``area`` (a shapely geometry in the network CRS)."""
    return np.sort(network.edges.sindex.query(area, predicate="intersects")).astype(np.int64)


def undirected_edges(network: WalkNetwork, edge_ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """One directed edge per street segment (the two directions share a geometry)."""
    u = network.edges["u"].to_numpy()[edge_ids]
    v = network.edges["v"].to_numpy()[edge_ids]
    keys = np.minimum(u, v) * (len(network.nodes) + 1) + np.maximum(u, v)
    _, first = np.unique(keys, return_index=True)
    return edge_ids[np.sort(first)]


# ------------------------------------------------------------------ builders

MAP_CSS = """<style>
.sp-legend{background:rgba(255,255,255,.92);padding:6px 9px;font:12px/1.5 sans-serif;
  border-radius:4px;box-shadow:0 0 4px rgba(0,0,0,.35);max-width:260px}
.sp-legend .sp-title{font-weight:bold;font-size:13px;margin-bottom:3px}
.sp-legend .sp-scroll{max-height:10em;overflow-y:auto}
.sp-school{width:16px;height:16px;background:#fff;border:2px solid #000;color:#000;
  font:bold 11px/16px sans-serif;text-align:center;box-sizing:border-box}
.sp-inline{display:inline-block;line-height:12px}
.sp-icon{background:none;border:none}
.sp-dot{display:inline-block;width:11px;height:11px;border-radius:50%;background:#111;
  border:2px solid #fff;box-shadow:0 0 0 1px #111;vertical-align:middle}
.sp-hollow{background:none;border:1.5px solid #555;box-shadow:none}
.sp-origin{background:rgba(46,125,50,.35);border:1px solid #2e7d32;box-shadow:none}
.leaflet-control-layers{font:13px/1.4 sans-serif}
.sp-grey-tiles{filter:grayscale(1) contrast(.8) brightness(1.08)}
.leaflet-popup-content table{border-collapse:collapse;font-size:12px}
.leaflet-popup-content td,.leaflet-popup-content th{border:1px solid #ccc;padding:1px 4px}
</style>"""


# ------------------------------------------------------------------ HTML
def post_workers(schedule: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """Escaped worker labels of each ``(post_id, window)`` of a :func:`post_schedule` table.

    A label is the worker id, followed by its weekdays in week order unless it
    works all five; labels are sorted by worker id.  Built in one pass over the
    table, so the popups of thousands of posts need not filter it per post.
    """
    days: dict[tuple[str, str], dict[str, set[str]]] = {}
    columns = (schedule[c].astype(str) for c in ("post_id", "window", "worker_id", "weekday"))
    for post_id, window, worker, day in zip(*columns, strict=True):
        days.setdefault((post_id, window), {}).setdefault(worker, set()).add(day)
    labels: dict[tuple[str, str], list[str]] = {}
    for key, by_worker in days.items():
        labels[key] = []
        for worker in sorted(by_worker):
            day_list = sorted(by_worker[worker], key=weekday_order)
            suffix = "" if len(day_list) == 5 else f" ({' '.join(day_list)})"
            labels[key].append(esc(f"{worker}{suffix}"))
    return labels


def post_popup_html(
    post: Any,
    times: dict[tuple[str, str], str],
    workers: Mapping[str, Sequence[str]],
    students: int | None,
    school_names: Sequence[str],
) -> str:
    """Popup of a post: id, cross streets, schools, window times, value, workers (with weekdays).

    ``workers`` maps a window to the post's escaped worker labels (see
    :func:`post_workers`; a window without workers may be absent);
    ``students`` is the number of students on the post's routes (None: unknown);
    ``school_names`` are the (unescaped) names of the schools it serves.
    """
    rows = []
    for window in WINDOWS:
        when = times.get((str(post.school_id), window), "")
        value = float(getattr(post, f"value_{window}", np.nan))
        rows.append(
            f"<tr><td>{window.upper()}</td><td>{esc(when)}</td><td>{value:.1f}</td>"
            f"<td>{', '.join(workers.get(window, ())) or '—'}</td></tr>"
        )
    label = "Schools" if len(school_names) > 1 else "School"
    return (
        f"<b>Post {esc(post.post_id)}</b><br>{esc(post.cross_streets)}<br>"
        f"{label}: {'; '.join(esc(name) for name in school_names)}<br>"
        + (f"Students on its routes: {students:,}<br>" if students is not None else "")
        + "<table><tr><th>Window</th><th>Time</th><th>Value</th><th>Workers</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def line_sample(
    color: str, *, width: float = 4.0, dash: str = "", opacity: float = 1.0, cap: str = "butt"
) -> str:
    """A short line drawn in inline SVG for the legend, styled like a map line."""
    dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
    return (
        "<svg width='28' height='12' style='vertical-align:middle'>"
        f"<line x1='3' y1='6' x2='25' y2='6' stroke='{color}' stroke-width='{width:g}'"
        f" stroke-opacity='{opacity:g}' stroke-linecap='{cap}'{dash_attr}/></svg>"
    )


def legend_html(
    title: str,
    risk_classes: list[tuple[str, str]] | None,
    corridor_rows: Sequence[str],
    extra_rows: Sequence[str],
    has_origins: bool,
) -> str:
    """Legend body: title, risk (label, colour) classes, corridor rows, extra rows, symbols.

    ``title``, ``corridor_rows`` (the corridor kinds and one row per school
    colour) and ``extra_rows`` are ready-made, escaped HTML.
    """
    rows = [f"<div class='sp-title'>{title}</div>"] if title else []
    if risk_classes is not None:
        rows.append("<b>Street risk</b> <small>(weighted incidents / km / yr)</small>")
    for cls, (label, color) in enumerate(risk_classes or []):
        rows.append(
            f"<div><i style='display:inline-block;width:26px;height:{2 + cls}px;"
            f"background:{color};vertical-align:middle'></i> {esc(label)}</div>"
        )
    if corridor_rows:
        rows.append("<b>Corridors</b>")
        rows.append("<div class='sp-scroll'>" + "".join(corridor_rows) + "</div>")
    rows.extend(extra_rows)
    rows.append(
        "<div><i class='sp-dot'></i> Post (chosen)&nbsp; "
        "<i class='sp-dot sp-hollow'></i> Candidate</div>"
        "<div><span class='sp-school sp-inline'>S</span> School</div>"
    )
    if has_origins:
        rows.append("<div><i class='sp-dot sp-origin'></i> Students walking from (aggregate)</div>")
    return "".join(rows)
