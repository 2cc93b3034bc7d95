"""Printable post packets: a multi-page US Letter PDF per vendor, drawn with matplotlib.

The street network itself is the basemap (no web tiles), so a packet prints
the same offline.  Pages read in black and white: corridors are thick dark
lines, posts white discs with a black number, schools black squares.
Partner packets carry posts, routes, shifts and worker ids only: no student
locations, origins or counts.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from shapely.affinity import rotate, translate
from shapely.ops import substring

from ..errors import DataError
from ..routes.network import WalkNetwork
from ._assets import require_columns, undirected_edges, write_atomic
from .web import PlanLike, post_schedule, window_times

__all__ = ["post_packet"]

logger = logging.getLogger(__name__)

LETTER_IN = (8.5, 11.0)
POST_RADIUS_M = 300.0
SCHOOL_MARGIN_M = 250.0
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
ATTRIBUTION = "Streets © OpenStreetMap contributors (ODbL)"
_MAJOR = ("primary", "secondary", "tertiary", "trunk")
_LABEL: Any = {"rotation_mode": "anchor", "ha": "center", "va": "center", "color": "#222222"}
_FRACTIONS = (0.5, 0.3, 0.7, 0.15, 0.85, 0.4, 0.6)
_ABBREVIATIONS = {
    "North": "N", "South": "S", "East": "E", "West": "W", "Avenue": "Ave", "Street": "St",
    "Boulevard": "Blvd", "Place": "Pl", "Parkway": "Pkwy", "Road": "Rd", "Drive": "Dr",
    "Court": "Ct", "Terrace": "Ter", "Expressway": "Expy", "Highway": "Hwy", "Lane": "Ln",
}  # fmt: skip
# A white box behind labels, not a path effect: path effects turn text into outlines
# that PDF readers cannot search or copy.
_HALO = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
# TrueType text (extractable, searchable); names with "$" must not become math.
_LABEL |= {"bbox": _HALO, "zorder": 5}
_RC: Any = {"pdf.fonttype": 42, "text.parse_math": False}


# ------------------------------------------------------------------ drawing
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
        segments = [np.asarray(g.coords) for g in edges.geometry.values[mask]]
        ax.add_collection(LineCollection(segments, colors="#9a9a9a", linewidths=width, zorder=1))
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
    return " ".join(_ABBREVIATIONS.get(word, word) for word in str(name).split())


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
    ax: Axes, edges: gpd.GeoDataFrame, bbox: tuple[float, float, float, float], size: float,
    taken: list[Any],
) -> None:  # fmt: skip
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
    stretch = substring(line, centre - length / 2, centre + length / 2)
    (x0, y0), (x1, y1) = stretch.coords[0], stretch.coords[-1]
    if np.hypot(x1 - x0, y1 - y0) < 0.97 * stretch.length:
        return None  # too curvy for straight text
    angle = float((np.degrees(np.arctan2(y1 - y0, x1 - x0)) + 90) % 180 - 90)  # upright
    at = line.interpolate(centre)
    box = shapely.box(-length / 2, -height / 2, length / 2, height / 2)
    rect = translate(rotate(box, angle, origin=(0, 0)), at.x, at.y)
    if any(rect.intersects(other) for other in taken):
        return None
    taken.append(rect)
    return (at.x, at.y), angle


def _draw_corridors(ax: Axes, corridors: gpd.GeoDataFrame) -> None:
    segments = [
        np.asarray(part.coords)
        for part in shapely.get_parts(corridors.geometry.values)
        if not part.is_empty
    ]
    ax.add_collection(LineCollection(segments, colors="white", linewidths=7.5, zorder=2))
    ax.add_collection(LineCollection(segments, colors="#1a1a1a", linewidths=4.5, zorder=3))


def _draw_post(ax: Axes, x: float, y: float, number: int, *, size: float) -> None:
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


def _draw_school(ax: Axes, x: float, y: float, name: str) -> None:
    ax.plot(x, y, "s", ms=13, mfc="black", mec="white", mew=1.5, zorder=7)
    ax.annotate(
        name,
        (x, y),
        xytext=(9, -12),
        textcoords="offset points",
        fontsize=8,
        fontweight="bold",
        bbox=_HALO,
        zorder=7,
    )


def _map_furniture(ax: Axes, bbox: tuple[float, float, float, float]) -> None:
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
    ax.text(x0, y0 + 0.02 * width, f"0        {bar:g} m", fontsize=8, bbox=_HALO, zorder=10)
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
        bbox=_HALO,
        zorder=10,
    )
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _square_bbox(geoms: Sequence[Any], margin_m: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    half = max(maxx - minx, maxy - miny) / 2 + margin_m
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - half, cy - half, cx + half, cy + half)


# ------------------------------------------------------------------ content
def _shift_text(shifts: pd.DataFrame, window: str) -> str:
    mine = shifts[shifts["window"] == window]
    if mine.empty:
        return "unstaffed"
    return ", ".join(sorted({f"{s}–{e}" for s, e in zip(mine["start"], mine["end"], strict=True)}))


def _workers_text(shifts: pd.DataFrame) -> str:
    return ", ".join(sorted(set(shifts["worker_id"]))) or "—"


def _packet_rows(
    posts: gpd.GeoDataFrame, schedule: pd.DataFrame, times: dict[tuple[str, str], str]
) -> list[list[str]]:
    rows = []
    for number, post in enumerate(posts.itertuples(index=False), start=1):
        shifts = schedule[schedule["post_id"] == str(post.post_id)]
        school = str(post.school_id)
        rows.append(
            [
                str(number),
                str(post.post_id),
                school,
                str(post.cross_streets),
                _shift_text(shifts, "am"),
                _shift_text(shifts, "pm"),
                _workers_text(shifts),
            ]
        )
    return rows


def _table(
    ax: Axes, header: list[str], rows: list[list[str]], widths: list[float], *, max_pt: float
) -> None:
    """A ruled table from the top of ``ax``; rows shrink (font with them) to fit the axes."""
    ax.axis("off")
    if not rows:
        ax.text(0, 1, "No posts.", va="top", fontsize=max_pt)
        return
    height_pt = ax.get_position().height * LETTER_IN[1] * 72
    row_pt = min(max_pt * 1.7, height_pt / (len(rows) + 1))
    size = float(np.clip(row_pt * 0.6, 4.0, max_pt))
    # cut text that would spill into the next column (about 0.55 em per character)
    width_pt = ax.get_position().width * LETTER_IN[0] * 72
    limits = [max(4, int(w * width_pt / (size * 0.58))) for w in widths]
    rows = [
        [t if len(t) <= n else t[: n - 1] + "…" for t, n in zip(r, limits, strict=True)]
        for r in rows
    ]
    fraction = (len(rows) + 1) * row_pt / height_pt
    table = ax.table(
        cellText=rows,
        colLabels=header,
        colWidths=widths,
        bbox=Bbox.from_bounds(0.0, 1.0 - fraction, 1.0, fraction),
        cellLoc="left",
        colLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(size)
    for (row, _col), cell in table.get_celld().items():
        cell.set_linewidth(0.5)
        if row == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#e6e6e6")


def _cover_page(
    result: PlanLike,
    vendor_name: str,
    vendor_id: str,
    schools: gpd.GeoDataFrame,
    rows: list[list[str]],
) -> Figure:
    fig = Figure(figsize=LETTER_IN)
    fig.text(0.07, 0.95, "Safe Passage post packet", fontsize=20, fontweight="bold", va="top")
    fig.text(0.07, 0.915, f"{vendor_name} (vendor {vendor_id})", fontsize=14, va="top")
    fig.text(
        0.07, 0.89, f"Plan: {result.plan_name}    Date: {result.plan_date}", fontsize=10, va="top"
    )
    lines = [
        f"• {s.name} ({s.school_id}), grades {getattr(s, 'grades', '')}, "
        f"bells {getattr(s, 'bell_start', '')}–{getattr(s, 'bell_end', '')}"
        for s in schools.itertuples(index=False)
    ]
    fig.text(0.07, 0.86, "Schools\n" + "\n".join(lines), fontsize=9.5, va="top", linespacing=1.5)
    top = 0.84 - 0.022 * (len(lines) + 1)
    ax = fig.add_axes((0.07, 0.05, 0.86, top - 0.06))
    ax.set_title("Posts (number on the maps, shifts, workers)", loc="left", fontsize=11)
    header = ["#", "Post", "School", "Cross streets", "AM shift", "PM shift", "Workers"]
    _table(ax, header, rows, [0.04, 0.13, 0.08, 0.35, 0.11, 0.11, 0.18], max_pt=8.5)
    return fig


def _school_page(
    result: PlanLike,
    school: Any,
    corridors: gpd.GeoDataFrame,
    posts: gpd.GeoDataFrame,
    numbers: dict[str, int],
) -> Figure:
    fig = Figure(figsize=LETTER_IN)
    fig.text(
        0.07, 0.965, f"{school.name} ({school.school_id})", fontsize=16, fontweight="bold", va="top"
    )
    fig.text(
        0.07,
        0.935,
        "Safe Passage routes (thick black) and posts (numbered discs)",
        fontsize=10,
        va="top",
    )
    geoms = [school.geometry, *corridors.geometry.values, *posts.geometry.values]
    bbox = _square_bbox(geoms, SCHOOL_MARGIN_M)
    ax = fig.add_axes((0.07, 0.24, 0.86, 0.86 * 8.5 / 11))
    keep_clear = [
        shapely.buffer(p, 0.022 * (bbox[2] - bbox[0]))
        for p in geoms[:1] + list(posts.geometry.values)
    ]
    draw_streets(ax, result.network, bbox, label_pt=6.5, avoid=keep_clear)
    _draw_corridors(ax, corridors)
    for post in posts.itertuples(index=False):
        _draw_post(ax, post.geometry.x, post.geometry.y, numbers[str(post.post_id)], size=17)
    _draw_school(ax, school.geometry.x, school.geometry.y, str(school.name))
    _map_furniture(ax, bbox)
    _post_key(fig, posts, numbers)
    return fig


def _post_key(fig: Figure, posts: gpd.GeoDataFrame, numbers: dict[str, int]) -> None:
    """The key under a school map: number, post id and cross streets, in 2 or 3 columns."""
    entries = [
        f"{numbers[str(p.post_id)]:>2}  {p.post_id}: {p.cross_streets}"
        for p in posts.itertuples(index=False)
    ] or ["No posts."]
    columns, size, rows, chars = (2, 8.0, 14, 62) if len(entries) <= 28 else (3, 6.5, 17, 44)
    entries = [e if len(e) <= chars else e[: chars - 1] + "…" for e in entries]
    if len(entries) > rows * columns:
        more = len(entries) - rows * columns + 1
        entries = [*entries[: rows * columns - 1], f"… {more} more: see the cover page"]
    for i in range(columns):
        fig.text(0.07 + i * 0.86 / columns, 0.215, "\n".join(entries[i * rows : (i + 1) * rows]),
                 fontsize=size, va="top", linespacing=1.4)  # fmt: skip


def _post_page(
    result: PlanLike,
    post: Any,
    number: int,
    school_name: str,
    corridors: gpd.GeoDataFrame,
    shifts: pd.DataFrame,
    times: dict[tuple[str, str], str],
) -> Figure:
    fig = Figure(figsize=LETTER_IN)
    school = str(post.school_id)
    fig.text(
        0.07, 0.965, f"Post {number}: {post.post_id}", fontsize=18, fontweight="bold", va="top"
    )
    fig.text(0.07, 0.932, str(post.cross_streets), fontsize=14, va="top")
    fig.text(
        0.07,
        0.905,
        f"{school_name} ({school})    "
        f"School window AM {times.get((school, 'am'), '?')}, PM {times.get((school, 'pm'), '?')}",
        fontsize=10,
        va="top",
    )
    x, y = post.geometry.x, post.geometry.y
    bbox = (x - POST_RADIUS_M, y - POST_RADIUS_M, x + POST_RADIUS_M, y + POST_RADIUS_M)
    ax = fig.add_axes((0.12, 0.28, 0.76, 0.76 * 8.5 / 11))
    marker = shapely.Point(x, y).buffer(0.09 * (bbox[2] - bbox[0]))
    draw_streets(ax, result.network, bbox, label_pt=9, avoid=[marker])
    _draw_corridors(ax, corridors)
    ax.plot(x, y, "o", ms=34, mfc="none", mec="black", mew=2.5, zorder=8)
    _draw_post(ax, x, y, number, size=22)
    ax.annotate(
        "STAND HERE",
        (x, y),
        xytext=(0, 26),
        textcoords="offset points",
        ha="center",
        fontsize=11,
        fontweight="bold",
        bbox=_HALO,
        zorder=9,
    )
    _map_furniture(ax, bbox)
    rows = []
    for day in WEEKDAYS:
        cells = [day]
        for window in ("am", "pm"):
            mine = shifts[(shifts["window"] == window) & (shifts["weekday"] == day)]
            text = "; ".join(
                f"{w} {s}–{e}"
                for w, s, e in zip(mine["worker_id"], mine["start"], mine["end"], strict=True)
            )
            cells.append(text or "unstaffed")
        rows.append(cells)
    table_ax = fig.add_axes((0.1, 0.04, 0.8, 0.21))
    table_ax.set_title("Assigned workers", loc="left", fontsize=11)
    _table(table_ax, ["Day", "Morning (AM)", "Afternoon (PM)"], rows, [0.12, 0.44, 0.44], max_pt=10)
    return fig


# ------------------------------------------------------------------ packet
def _vendor(result: PlanLike, vendor_id: str) -> tuple[str, list[str]]:
    vendors = result.vendors
    require_columns(vendors, ["vendor_id", "name", "school_ids"], "result.vendors")
    match = vendors[vendors["vendor_id"].astype(str) == str(vendor_id)]
    if match.empty:
        known = ", ".join(map(str, vendors["vendor_id"])) or "(none)"
        raise DataError(f"vendor {vendor_id!r} is not in result.vendors; known vendors: {known}")
    row = match.iloc[0]
    return str(row["name"]), [str(s) for s in row["school_ids"]]


def _vendor_tables(
    result: PlanLike, school_ids: list[str]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    schools = result.schools.set_index(result.schools["school_id"].astype(str), drop=False)
    unknown = [s for s in school_ids if s not in schools.index]
    if unknown:
        raise DataError(f"vendor schools {unknown} are not in result.schools")
    posts = result.posts
    require_columns(posts, ["post_id", "school_id", "cross_streets", "selected"], "result.posts")
    posts = posts[posts["selected"].astype(bool) & posts["school_id"].astype(str).isin(school_ids)]
    order = {s: i for i, s in enumerate(school_ids)}
    posts = posts.assign(_order=posts["school_id"].astype(str).map(order))
    posts = posts.sort_values(["_order", "post_id"]).drop(columns="_order")
    return schools.loc[school_ids], posts


def post_packet(result: PlanLike, vendor_id: str, path: str | Path) -> Path:
    """Write a vendor's printable post packet (US Letter PDF) atomically.

    Pages: a cover (vendor, its schools, every post with cross streets, shift
    times and worker ids, the plan date); one map per school (streets,
    corridors, numbered posts with a key); one page per chosen post (streets
    about 300 m around it with names, the corridor, the post, its shifts and
    workers per weekday, north arrow, scale bar).  So the page count is
    1 + schools of the vendor + chosen posts of those schools.  No student
    location, origin or count is printed.

    Parameters
    ----------
    result
        A plan (see :class:`~safepassage.maps.web.PlanLike`).
    vendor_id
        A ``vendor_id`` of ``result.vendors``.
    path
        The PDF to write (its folder is created).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    vendor_name, school_ids = _vendor(result, vendor_id)
    schools, posts = _vendor_tables(result, school_ids)
    schedule, times = post_schedule(result), window_times(result)
    numbers = {str(p): i for i, p in enumerate(posts["post_id"], start=1)}
    metadata = {
        "Title": f"Safe Passage posts — {vendor_name}",
        "Creator": "safepassage",
        "CreationDate": None,
    }

    def write(tmp: Path) -> None:
        with mpl.rc_context(_RC), PdfPages(tmp, metadata=metadata) as pdf:
            rows = _packet_rows(posts, schedule, times)
            pdf.savefig(_cover_page(result, vendor_name, str(vendor_id), schools, rows))
            for school in schools.itertuples(index=False):
                mine = posts[posts["school_id"].astype(str) == str(school.school_id)]
                routes = _routes_of(result, str(school.school_id))
                pdf.savefig(_school_page(result, school, routes, mine, numbers))
            for post in posts.itertuples(index=False):
                sid, number = str(post.school_id), numbers[str(post.post_id)]
                shifts = schedule[schedule["post_id"] == str(post.post_id)]
                name = str(schools.loc[sid, "name"])
                routes = _routes_of(result, sid)
                pdf.savefig(_post_page(result, post, number, name, routes, shifts, times))

    write_atomic(path, write)
    logger.info("wrote post packet %s (%d posts)", path, len(posts))
    return path


def _routes_of(result: PlanLike, school_id: str) -> gpd.GeoDataFrame:
    return result.corridors[result.corridors["school_id"].astype(str) == school_id]
