"""Drawing on a matplotlib page for the post packets: streets, labels, corridors, furniture.

Pages read in black and white; street names are TrueType text (searchable in
the PDF) placed along straight stretches without overlapping each other or the
posts and schools.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from ..routes.network import WalkNetwork
from ..streets import short_street_name
from .assets import undirected_edges
from .sheet import LETTER_IN

__all__ = ["ATTRIBUTION", "LETTER_IN", "abbreviate", "draw_streets"]


ATTRIBUTION = "Streets © OpenStreetMap contributors (ODbL)"
_MAJOR = ("primary", "secondary", "tertiary", "trunk")
_LABEL: Any = {"rotation_mode": "anchor", "ha": "center", "va": "center", "color": "#222222"}
_FRACTIONS = (0.5, 0.3, 0.7, 0.15, 0.85, 0.4, 0.6)
# A white box behind labels, not a path effect: path effects turn text into outlines
# that PDF readers cannot search or copy.
HALO = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
# TrueType text (extractable, searchable); names with "$" must not become math.
_LABEL |= {"bbox": HALO, "zorder": 5}


def _street_ids(network: WalkNetwork, bbox: tuple[float, float, float, float]) -> Any:
    ids = network.edges.sindex.query(shapely.box(*bbox), predicate="intersects")
    return undirected_edges(network, np.sort(ids).astype(np.int64))


def draw_streets(
    ax: Axes,
    network: WalkNetwork,
    bbox: tuple[float, float, float, float],
    *,
    label_pt: float,
    avoid: Sequence[Any] = (),
) -> None:
    """Streets in grey (major streets wider) and, if ``label_pt`` > 0, their names along them.

    Labels never overlap each other nor the geometries in ``avoid`` (plan CRS).
    """
    ids = _street_ids(network, bbox)
    edges = network.edges.iloc[ids]
    major = edges["highway"].astype(str).str.contains("|".join(_MAJOR)).to_numpy()
    for mask, width in ((~major, 1.0), (major, 2.2)):
        # add_artist, not add_patch: the page sets its limits, and add_patch would
        # walk every vertex of the path to widen them
        ax.add_artist(_lines_patch(edges.geometry.values[mask], "#9a9a9a", width, zorder=1))
    if label_pt > 0:
        _label_streets(ax, edges, bbox, label_pt, [*avoid, *_furniture_zones(bbox)])


def _furniture_zones(bbox: tuple[float, float, float, float]) -> list[Any]:
    """Where the north arrow, scale bar and attribution go: no street label there."""
    minx, miny, maxx, maxy = bbox
    w, h = maxx - minx, maxy - miny
    return [
        shapely.box(minx + 0.88 * w, miny + 0.78 * h, maxx, maxy),
        shapely.box(minx, miny, minx + 0.3 * w, miny + 0.1 * h),
        shapely.box(minx + 0.55 * w, miny, maxx, miny + 0.04 * h),
    ]


def abbreviate(name: str) -> str:
    """Short street name for map labels: "South Emerald Avenue" -> "S Emerald Ave"."""
    return short_street_name(str(name))


def _street_pieces(edges: gpd.GeoDataFrame, view: Any) -> list[tuple[float, str, list[Any]]]:
    """(visible length, label, visible straight-ish pieces longest first) per street name."""
    named = edges[edges["name"].astype(str).str.strip() != ""]
    streets = []
    for name, group in named.groupby("name"):
        visible = shapely.intersection(shapely.union_all(group.geometry.values), view)
        merged = shapely.line_merge(visible) if visible.geom_type == "MultiLineString" else visible
        pieces = [p for p in shapely.get_parts(merged) if p.geom_type == "LineString"]
        pieces.sort(key=lambda p: p.length, reverse=True)
        if pieces:
            streets.append((sum(p.length for p in pieces), abbreviate(str(name)), pieces))
    return sorted(streets, key=lambda street: street[0], reverse=True)


def _label_streets(
    ax: Axes,
    edges: gpd.GeoDataFrame,
    bbox: tuple[float, float, float, float],
    size: float,
    taken: list[Any],
) -> None:
    """Place each name along a straight stretch, once (twice on a long street), without overlap."""
    width = bbox[2] - bbox[0]
    m_per_pt = width / (ax.get_position().width * LETTER_IN[0] * 72)
    view = shapely.box(*bbox).buffer(-0.03 * width)
    for _, label, pieces in _street_pieces(edges, view):
        length, height = len(label) * size * 0.62 * m_per_pt, size * 1.5 * m_per_pt
        for line in pieces[:3]:
            wanted = 1 if line.length < 3.5 * length else 2
            fractions = _FRACTIONS if wanted == 1 else (0.25, 0.75, 0.15, 0.85)
            spots = (_label_spot(line, f, length, height, taken) for f in fractions)
            placed = 0
            for at, angle in itertools.islice(filter(None, spots), wanted):
                ax.text(at[0], at[1], label, rotation=angle, fontsize=size, **_LABEL)
                placed += 1
            if placed:
                break


def _label_spot(
    line: Any, fraction: float, length: float, height: float, taken: list[Any]
) -> tuple[tuple[float, float], float] | None:
    """Centre and angle of a free, straight label spot at ``fraction`` of ``line`` (now taken)."""
    centre = fraction * line.length
    if centre - length / 2 < 0 or centre + length / 2 > line.length:
        return None
    # the stretch under the label: its ends, centre and length (no substring needed)
    ends = shapely.line_interpolate_point(line, [centre - length / 2, centre, centre + length / 2])
    (x0, y0), (cx, cy), (x1, y1) = shapely.get_coordinates(ends)
    if np.hypot(x1 - x0, y1 - y0) < 0.97 * length:
        return None  # too curvy for straight text
    angle = float((np.degrees(np.arctan2(y1 - y0, x1 - x0)) + 90) % 180 - 90)  # upright
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [length / 2, height / 2]
    rect = shapely.polygons(corners @ [[cos, sin], [-sin, cos]] + [cx, cy])
    if shapely.intersects(rect, taken).any():
        return None
    taken.append(rect)
    return (float(cx), float(cy)), angle


def draw_corridors(ax: Axes, corridors: gpd.GeoDataFrame) -> None:
    segments = [
        np.asarray(part.coords)
        for part in shapely.get_parts(corridors.geometry.values)
        if not part.is_empty
    ]
    ax.add_artist(_lines_patch(segments, "white", 7.5, zorder=2))
    ax.add_artist(_lines_patch(segments, "#1a1a1a", 4.5, zorder=3))


def _lines_patch(lines: Any, color: str, width: float, *, zorder: float) -> PathPatch:
    """Lines (LineStrings or coordinate arrays) as one stroked path, drawn like a LineCollection.

    One path with a sub-path per line: the PDF backend writes a collection path
    by path, each with its own graphics state, which cost more than the lines.
    Caps and joins are a collection's (butt, round).
    """
    arrays = [np.asarray(line.coords if hasattr(line, "coords") else line) for line in lines]
    arrays = [a[:, :2] for a in arrays if len(a) >= 2]
    if arrays:
        vertices = np.concatenate(arrays)
        codes = np.full(len(vertices), Path.LINETO, dtype=Path.code_type)
        codes[np.cumsum([0] + [len(a) for a in arrays[:-1]])] = Path.MOVETO
        path = Path(vertices, codes)
    else:
        path = Path(np.empty((0, 2)))
    return PathPatch(
        path,
        fill=False,
        edgecolor=color,
        linewidth=width,
        capstyle="butt",
        joinstyle="round",
        zorder=zorder,
    )


def draw_post(ax: Axes, x: float, y: float, number: int, *, size: float) -> None:
    ax.plot(x, y, "o", ms=size, mfc="white", mec="black", mew=2.2, zorder=8)
    ax.text(
        x,
        y,
        str(number),
        ha="center",
        va="center",
        fontsize=size * 0.5,
        fontweight="bold",
        zorder=9,
    )


def draw_school(ax: Axes, x: float, y: float, name: str) -> None:
    ax.plot(x, y, "s", ms=13, mfc="black", mec="white", mew=1.5, zorder=7)
    ax.annotate(
        name,
        (x, y),
        xytext=(9, -12),
        textcoords="offset points",
        fontsize=8,
        fontweight="bold",
        bbox=HALO,
        zorder=7,
    )


def map_furniture(ax: Axes, bbox: tuple[float, float, float, float]) -> None:
    """Scale bar (metres), north arrow and attribution; the axis frame is the map edge."""
    minx, miny, maxx, maxy = bbox
    width = maxx - minx
    bar = 100.0 if width < 1200 else (250.0 if width < 3000 else 500.0)
    x0, y0 = minx + 0.04 * width, miny + 0.05 * (maxy - miny)
    for i in range(2):  # alternating black/white halves read in black and white
        ax.add_patch(
            mpl.patches.Rectangle(
                (x0 + i * bar / 2, y0),
                bar / 2,
                0.012 * width,
                facecolor="black" if i == 0 else "white",
                edgecolor="black",
                zorder=10,
            )
        )
    ax.text(x0, y0 + 0.02 * width, f"0        {bar:g} m", fontsize=8, bbox=HALO, zorder=10)
    ax.annotate(
        "N",
        xy=(0.94, 0.95),
        xytext=(0.94, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=13,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "lw": 2, "color": "black"},
        zorder=10,
    )
    ax.text(
        0.99,
        0.01,
        ATTRIBUTION,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=6.5,
        bbox=HALO,
        zorder=10,
    )
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def square_bbox(geoms: Sequence[Any], margin_m: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    half = max(maxx - minx, maxy - miny) / 2 + margin_m
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - half, cy - half, cx + half, cy + half)
