"""Printable post packets: a multi-page US Letter PDF per vendor, drawn with matplotlib.

The street network itself is the basemap (no web tiles), so a packet prints
the same offline.  Pages read in black and white: corridors are thick dark
lines, posts white discs with a black number, schools black squares.
Partner packets carry posts, routes, shifts and worker ids only: no student
locations, origins or counts.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from ..atomic import atomic_file
from ..errors import DataError
from ..schedule import WEEKDAYS, WINDOWS
from .assets import require_columns
from .drawing import (
    HALO,
    LETTER_IN,
    draw_corridors,
    draw_post,
    draw_school,
    draw_streets,
    map_furniture,
    square_bbox,
)
from .plan_data import PlanLike, post_schedule, window_times

__all__ = ["post_packet"]

MIN_TABLE_PT = 5.5  # smallest table text (pt) before long text is cut
CELL_PAD_PT = 2.5  # text inset in a table cell (matplotlib's default is 10% of its width)

logger = logging.getLogger(__name__)

POST_RADIUS_M = 300.0
SCHOOL_MARGIN_M = 250.0
_RC: Any = {"pdf.fonttype": 42, "text.parse_math": False}
# Helvetica's regular face is "Medium" in its metrics: asking for it by that name
# spares a findfont warning, as does keeping the tick formatter (no map has ticks)
# from looking for a minus sign in a TrueType font of that weight.
_CORE_RC: Any = _RC | {
    "pdf.use14corefonts": True,
    "font.weight": "medium",
    "axes.formatter.use_mathtext": True,
}


# ------------------------------------------------------------------ content
def _shift_text(shifts: pd.DataFrame, window: str) -> str:
    mine = shifts[shifts["window"] == window]
    if mine.empty:
        return "unstaffed"
    return ", ".join(sorted({f"{s}–{e}" for s, e in zip(mine["start"], mine["end"], strict=True)}))


def _workers_text(shifts: pd.DataFrame) -> str:
    return ", ".join(sorted(set(shifts["worker_id"]))) or "—"


def _shifts_by_post(schedule: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The schedule's rows per post id, each in schedule order (one pass, not one per post)."""
    return {str(post): rows for post, rows in schedule.groupby("post_id", sort=False)}


def _packet_rows(
    posts: gpd.GeoDataFrame, shifts_of: dict[str, pd.DataFrame], none: pd.DataFrame
) -> list[list[str]]:
    rows = []
    for number, post in enumerate(posts.itertuples(index=False), start=1):
        shifts = shifts_of.get(str(post.post_id), none)
        rows.append(
            [
                str(number),
                str(post.post_id),  # begins with the school id (the schools are listed above)
                str(post.cross_streets),
                _shift_text(shifts, "am"),
                _shift_text(shifts, "pm"),
                _workers_text(shifts),
            ]
        )
    return rows


def _table(
    fig: Figure,
    rect: tuple[float, float, float, float],
    title: str,
    table: tuple[list[str], list[list[str]], list[float]],
    *,
    max_pt: float,
) -> None:
    """A ruled table from the top of ``rect`` (figure fraction); rows shrink to fit it.

    ``table`` is the header, the rows and the column widths (fractions).  The
    font also shrinks (down to ``MIN_TABLE_PT``) until the longest text of every
    column fits its width; only text longer than that is cut, with "…".  Drawn
    straight on the figure (a text per cell, one set of rules) rather than with
    ``Axes.table``, whose cell patches and axes layout cost more than the page.
    """
    header, rows, widths = table
    left, bottom, width, height = rect
    top = bottom + height
    if not rows:
        fig.text(left, top, "No posts.", va="top", fontsize=max_pt, zorder=0)
        _table_title(fig, left, top, title)
        return
    height_pt = height * LETTER_IN[1] * 72
    row_pt = min(max_pt * 1.7, height_pt / (len(rows) + 1))
    size = float(np.clip(row_pt * 0.6, 4.0, max_pt))
    # about 0.58 em per character: shrink until each column's longest text fits
    width_pt = width * LETTER_IN[0] * 72
    inner_pt = [max(w * width_pt - 2 * CELL_PAD_PT, 1.0) for w in widths]
    longest = [max(len(t) for t in column) for column in zip(*rows, header, strict=True)]
    fits = min(w / (0.62 * max(n, 1)) for w, n in zip(inner_pt, longest, strict=True))
    size = float(np.clip(min(size, fits), MIN_TABLE_PT, max_pt))
    limits = [max(4, int(w / (size * 0.58))) for w in inner_pt]
    rows = [
        [t if len(t) <= n else t[: n - 1] + "…" for t, n in zip(r, limits, strict=True)]
        for r in rows
    ]
    row_h = row_pt / height_pt * height
    edges = left + width * np.concatenate([[0.0], np.cumsum(widths)])
    # text inset: 10 % of the cell or CELL_PAD_PT, whichever is less
    xs = [
        x + min(0.1 * w * width, CELL_PAD_PT / (72 * LETTER_IN[0]))
        for x, w in zip(edges[:-1], widths, strict=True)
    ]
    lowest = top - (len(rows) + 1) * row_h
    fig.add_artist(
        Rectangle((left, top - row_h), width, row_h, facecolor="#e6e6e6", linewidth=0, zorder=0)
    )
    for i, cells in enumerate([header, *rows]):
        y = top - (i + 0.5) * row_h
        for x, text in zip(xs, cells, strict=True):
            fig.text(
                x,
                y,
                text,
                fontsize=size,
                va="center",
                fontweight="bold" if i == 0 else None,  # None: font.weight
                zorder=0,
            )
    rules = [[(left, y), (left + width, y)] for y in top - row_h * np.arange(len(rows) + 2)]
    rules += [[(x, lowest), (x, top)] for x in edges]
    fig.add_artist(
        LineCollection(rules, colors="black", linewidths=0.5, capstyle="projecting", zorder=0)
    )
    _table_title(fig, left, top, title)


def _table_title(fig: Figure, left: float, top: float, title: str) -> None:
    """Where an axes title goes: 6 pt above the top (``axes.titlepad``), after the cells."""
    fig.text(left, top + 6 / (72 * LETTER_IN[1]), title, fontsize=11, va="baseline", zorder=0)


def _content_widths(header: list[str], rows: list[list[str]]) -> list[float]:
    """Column widths (fractions) in proportion to each column's longest text.

    Post labels run from 20 to 90 characters ("S Halsted St between W 63rd St
    and W 64th St, 60 m from W 63rd St"), so fixed widths cut them.
    """
    longest = [max(3, *map(len, column)) for column in zip(*rows, header, strict=True)]
    return [n / sum(longest) for n in longest]


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
        0.07,
        0.89,
        f"Plan: {result.plan_name}" + (f"    Date: {result.plan_date}" if result.plan_date else ""),
        fontsize=10,
        va="top",
    )
    lines = [
        f"• {s.name} ({s.school_id}), grades {getattr(s, 'grades', '')}, "
        f"bells {getattr(s, 'bell_start', '')}–{getattr(s, 'bell_end', '')}"
        for s in schools.itertuples(index=False)
    ]
    fig.text(0.07, 0.86, "Schools\n" + "\n".join(lines), fontsize=9.5, va="top", linespacing=1.5)
    top = 0.84 - 0.022 * (len(lines) + 1)
    header = ["#", "Post", "Location", "AM shift", "PM shift", "Workers"]
    _table(
        fig,
        (0.07, 0.05, 0.86, top - 0.06),
        "Posts (number on the maps, shifts, workers)",
        (header, rows, _content_widths(header, rows)),
        max_pt=8.5,
    )
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
    bbox = square_bbox(geoms, SCHOOL_MARGIN_M)
    ax = fig.add_axes((0.07, 0.24, 0.86, 0.86 * 8.5 / 11))
    keep_clear = [
        shapely.buffer(p, 0.022 * (bbox[2] - bbox[0]))
        for p in geoms[:1] + list(posts.geometry.values)
    ]
    draw_streets(ax, result.network, bbox, label_pt=6.5, avoid=keep_clear)
    draw_corridors(ax, corridors)
    for post in posts.itertuples(index=False):
        draw_post(ax, post.geometry.x, post.geometry.y, numbers[str(post.post_id)], size=17)
    draw_school(ax, school.geometry.x, school.geometry.y, str(school.name))
    map_furniture(ax, bbox)
    _post_key(fig, posts, numbers)
    return fig


# columns, font (pt), lines per column, characters per line: the first that fits all
KEY_LAYOUTS = ((2, 8.0, 14, 56), (3, 6.5, 17, 44))


def _post_key(fig: Figure, posts: gpd.GeoDataFrame, numbers: dict[str, int]) -> None:
    """The key under a school map: number, post id and label, in 2 or 3 columns.

    An entry longer than a column wraps onto a second line (a mid-block label
    names two corners); entries past the page end in "… n more".
    """
    entries = [
        f"{numbers[str(p.post_id)]:>2}  {p.post_id}: {p.cross_streets}"
        for p in posts.itertuples(index=False)
    ] or ["No posts."]
    size, filled = _key_layout(entries)
    for i, column in enumerate(filled):
        fig.text(
            0.07 + i * 0.86 / len(filled),
            0.215,
            "\n".join(column),
            fontsize=size,
            va="top",
            linespacing=1.4,
        )


def _key_layout(entries: list[str]) -> tuple[float, list[list[str]]]:
    """Font size and the columns' lines: the first of ``KEY_LAYOUTS`` that holds every entry."""
    for columns, size, lines, chars in KEY_LAYOUTS:
        blocks = [
            textwrap.wrap(e, chars, subsequent_indent=" " * 6, max_lines=2, placeholder=" …")
            for e in entries
        ]
        filled = _key_columns(blocks, columns, lines)
        if filled is not None:
            return size, filled
    keep = len(blocks)
    while filled is None:
        keep -= 1
        more = [f"… {len(blocks) - keep} more: see the cover page"]
        filled = _key_columns([*blocks[:keep], more], columns, lines)
    return size, filled


def _key_columns(blocks: list[list[str]], columns: int, lines: int) -> list[list[str]] | None:
    """The entries' lines filled into columns, no entry split; None if they do not fit."""
    filled: list[list[str]] = [[] for _ in range(columns)]
    column = 0
    for block in blocks:
        while len(filled[column]) + len(block) > lines:
            column += 1
            if column == columns:
                return None
        filled[column].extend(block)
    return filled


def _title_pt(text: str, width_in: float, max_pt: float, min_pt: float = 9.0) -> float:
    """Font size (pt) at which ``text`` fits ``width_in`` inches (about 0.58 em per character)."""
    return float(np.clip(width_in * 72 / (0.58 * max(len(text), 1)), min_pt, max_pt))


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
    label = str(post.cross_streets)
    fig.text(0.07, 0.932, label, fontsize=_title_pt(label, 0.88 * LETTER_IN[0], 14), va="top")
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
    draw_corridors(ax, corridors)
    ax.plot(x, y, "o", ms=34, mfc="none", mec="black", mew=2.5, zorder=8)
    draw_post(ax, x, y, number, size=22)
    ax.annotate(
        "STAND HERE",
        (x, y),
        xytext=(0, 26),
        textcoords="offset points",
        ha="center",
        fontsize=11,
        fontweight="bold",
        bbox=HALO,
        zorder=9,
    )
    map_furniture(ax, bbox)
    rows = []
    slots = dict(iter(shifts.groupby(["window", "weekday"], sort=False)))
    for day in WEEKDAYS:
        cells = [day]
        for window in WINDOWS:
            mine = slots.get((window, day), shifts.iloc[:0])
            text = "; ".join(
                f"{w} {s}–{e}"
                for w, s, e in zip(mine["worker_id"], mine["start"], mine["end"], strict=True)
            )
            cells.append(text or "unstaffed")
        rows.append(cells)
    header = ["Day", "Morning (AM)", "Afternoon (PM)"]
    _table(
        fig,
        (0.1, 0.04, 0.8, 0.21),
        "Assigned workers",
        (header, rows, [0.12, 0.44, 0.44]),
        max_pt=10,
    )
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

    shifts_of, no_shifts = _shifts_by_post(schedule), schedule.iloc[:0]
    routes_of = {sid: _routes_of(result, sid) for sid in school_ids}

    def pages() -> Iterator[Figure]:
        rows = _packet_rows(posts, shifts_of, no_shifts)
        yield _cover_page(result, vendor_name, str(vendor_id), schools, rows)
        for school in schools.itertuples(index=False):
            mine = posts[posts["school_id"].astype(str) == str(school.school_id)]
            yield _school_page(result, school, routes_of[str(school.school_id)], mine, numbers)
        for post in posts.itertuples(index=False):
            sid, number = str(post.school_id), numbers[str(post.post_id)]
            shifts = shifts_of.get(str(post.post_id), no_shifts)
            name = str(schools.loc[sid, "name"])
            yield _post_page(result, post, number, name, routes_of[sid], shifts, times)

    def write(tmp: Path) -> None:
        if not _write_pdf(tmp, pages, metadata, core_fonts=True):
            _write_pdf(tmp, pages, metadata, core_fonts=False)

    with atomic_file(path, mode=0o644) as part:  # packets are meant to be shared
        write(part)
    logger.info("wrote post packet %s (%d posts)", path, len(posts))
    return path


def _write_pdf(
    path: Path, pages: Callable[[], Iterator[Figure]], metadata: dict[str, Any], *, core_fonts: bool
) -> bool:
    """Draw ``pages()`` into ``path``; False, at the first page not in WinAnsi, with core fonts.

    The PDF core fonts (Helvetica) are neither laid out glyph by glyph nor
    subset and embedded at the end, which makes a page several times cheaper
    to write than with embedded TrueType; they only encode WinAnsi (cp1252:
    Latin letters such as "ñ", "–", "…", "©").  Any other character sends the
    packet back to embedded DejaVu Sans.
    """
    with mpl.rc_context(_CORE_RC if core_fonts else _RC), PdfPages(path, metadata=metadata) as pdf:
        for fig in pages():
            if core_fonts and not _winansi(fig):
                return False
            pdf.savefig(fig)
    return True


def _winansi(fig: Figure) -> bool:
    """Whether every text of ``fig`` can be written in a core font (WinAnsi, i.e. cp1252)."""
    try:
        for text in fig.findobj(Text):
            text.get_text().encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _routes_of(result: PlanLike, school_id: str) -> gpd.GeoDataFrame:
    return result.corridors[result.corridors["school_id"].astype(str) == school_id]
