"""Printable post packets: a multi-page US Letter PDF per vendor, drawn with matplotlib.

The street network itself is the basemap (no web tiles), so a packet prints
the same offline.  Pages read in black and white: corridors are thick dark
lines, posts white discs with a black number, schools black squares.  Every
text wraps or shrinks to its cell or page (:mod:`safepassage.maps.sheet`).
Partner packets carry posts, routes, shifts, worker ids, names and phones
only: no student locations, origins or counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from matplotlib.figure import Figure

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
from .sheet import (
    Flowed,
    Table,
    cell_text,
    draw_table,
    fitted,
    flow,
    heading,
    text_width_pt,
    wrap,
    write_document,
)

__all__ = ["packet_pages", "post_packet"]

logger = logging.getLogger(__name__)

POST_RADIUS_M = 300.0
SCHOOL_MARGIN_M = 250.0
SIGN_IN_BLANK_ROWS = 4  # empty rows at the foot of a sign-in sheet, for substitutes
SIGN_IN_ROW_PT = 17.0  # about a quarter inch: tall enough to sign in
SIGN_IN_PT = 10.0
WINDOW_NAMES = {"am": "AM", "pm": "PM"}


# ------------------------------------------------------------------ content
def _items(value: Any) -> list[str]:
    """A list cell (a list, or text separated by ``;``) as its items; missing is ``[]``."""
    if isinstance(value, list | tuple | set):
        return [t for v in value if (t := cell_text(v))]
    return [t for v in cell_text(value).split(";") if (t := v.strip())]


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


class _Packet:
    """What a vendor's pages read: the vendor, its schools, posts, roster, staff and floaters."""

    def __init__(self, result: PlanLike, vendor_id: str) -> None:
        self.result = result
        self.vendor_id = str(vendor_id)
        row = _vendor(result, self.vendor_id)
        self.name = cell_text(row["name"]) or self.vendor_id
        self.contact = cell_text(row.get("contact"))
        self.phone = cell_text(row.get("phone"))
        school_ids = [str(s) for s in row["school_ids"]]
        self.schools, self.posts = _vendor_tables(result, school_ids)
        self.school_names = {s: cell_text(self.schools.loc[s, "name"]) or s for s in school_ids}
        self.numbers = {str(p): i for i, p in enumerate(self.posts["post_id"], start=1)}
        self.labels = dict(
            zip(
                result.posts["post_id"].astype(str),
                result.posts["cross_streets"].astype(str),
                strict=True,
            )
        )
        self.schedule, self.times = post_schedule(result), window_times(result)
        self.shifts_of = _shifts_by_post(self.schedule)
        self.no_shifts = self.schedule.iloc[:0]
        self.roster = _vendor_roster(result, self.vendor_id, school_ids)
        # the assignments as records, grouped once: per worker, and per school and weekday
        self.shifts_of_worker: dict[str, list[Mapping[Any, Any]]] = {}
        self.shifts_of_day: dict[tuple[str, str], list[Mapping[Any, Any]]] = {}
        for a in self.roster.to_dict("records"):
            self.shifts_of_worker.setdefault(a["worker_id"], []).append(a)
            self.shifts_of_day.setdefault((a["school_id"], a["weekday"]), []).append(a)
        self.floaters = _of_vendor(
            result.floaters, self.vendor_id, ["worker_id", "vendor_id"], "result.floaters"
        )
        staff = _of_vendor(result.staff, self.vendor_id, ["worker_id", "vendor_id"], "result.staff")
        self.people: dict[str, tuple[str, str]] = {}
        for table in (staff, self.floaters):
            for r in table.to_dict("records"):
                self.people[str(r["worker_id"])] = (
                    cell_text(r.get("name")),
                    cell_text(r.get("phone")),
                )
        floater_ids = set(self.floaters["worker_id"].astype(str))
        everyone = set(self.people) | set(self.roster["worker_id"])
        self.workers = sorted(everyone - floater_ids)

    def post_label(self, post_id: str) -> tuple[str, str]:
        """A post's number in this packet (its id if it has none) and its cross streets."""
        number = self.numbers.get(post_id)
        return (str(number) if number else post_id), self.labels.get(post_id, "")

    def standby(self, floater: Mapping[Any, Any]) -> str:
        """Where a floater stands when not covering."""
        post, school = cell_text(floater.get("post_id")), cell_text(floater.get("school_id"))
        if post:
            number, label = self.post_label(post)
            return f"at post {number}: {label}" if label else f"at post {number}"
        if school:
            return f"at the school: {self.school_names.get(school, school)}"
        return "where the supervisor sends them"


def _vendor_roster(result: PlanLike, vendor_id: str, school_ids: list[str]) -> pd.DataFrame:
    """The roster's assignments of the vendor's workers, as text, in day and window order."""
    columns = ["worker_id", "vendor_id", "post_id", "school_id", "weekday", "window"]
    roster = result.roster
    if roster is None or roster.empty:
        return pd.DataFrame(columns=[*columns, "start", "end", "minutes"])
    require_columns(roster, [*columns, "start", "end"], "result.roster")
    mine = roster[roster["vendor_id"].astype(str) == vendor_id]
    text = mine[[*columns, "start", "end"]].astype(str)
    minutes = mine["minutes"] if "minutes" in mine else pd.Series(0, index=mine.index)
    return text.assign(minutes=pd.to_numeric(minutes, errors="coerce").fillna(0))


def _of_vendor(table: pd.DataFrame, vendor_id: str, columns: list[str], what: str) -> pd.DataFrame:
    if table.empty:
        return table.iloc[:0].reindex(columns=list(dict.fromkeys([*table.columns, *columns])))
    require_columns(table, columns, what)
    mine = table[table["vendor_id"].astype(str) == vendor_id]
    return mine.assign(worker_id=mine["worker_id"].astype(str)).sort_values("worker_id")


def _contact_line(contact: str, phone: str) -> str:
    if contact and phone:
        return f"Contact: {contact} · {phone}"
    return f"Contact: {contact}" if contact else (f"Phone: {phone}" if phone else "")


def _plan_line(result: PlanLike) -> str:
    return f"Plan: {result.plan_name}" + (
        f"    Date: {result.plan_date}" if result.plan_date else ""
    )


def _page(lines: list[tuple[str, float, bool]], bottom: float = 0.5) -> tuple[Figure, float]:
    """A new page with ``lines`` at its head; returns it and where its free space begins."""
    fig = Figure(figsize=LETTER_IN)
    return fig, heading(fig, lines, 0.965, bottom=bottom)


# ------------------------------------------------------------------ cover
def _cover_pages(packet: _Packet) -> Iterator[Figure]:
    result = packet.result
    lines = [
        ("Safe Passage post packet", 20.0, True),
        (f"{packet.name} (vendor {packet.vendor_id})", 14.0, False),
        (_contact_line(packet.contact, packet.phone), 11.0, False),
        (_plan_line(result), 10.0, False),
        ("Schools", 10.5, True),
    ]
    for s in packet.schools.to_dict("records"):
        grades, start, end = (cell_text(s.get(c)) for c in ("grades", "bell_start", "bell_end"))
        name = packet.school_names[str(s["school_id"])]
        lines.append(
            (f"• {name} ({s['school_id']}), grades {grades}, bells {start}–{end}", 9.5, False)
        )
    tables = []
    if not packet.floaters.empty:
        header = ["Floater", "Name", "Phone", "Stands by", "Days", "Windows"]
        rows = [
            [
                str(f["worker_id"]),
                cell_text(f.get("name")),
                cell_text(f.get("phone")),
                packet.standby(f),
                ", ".join(_items(f.get("weekdays"))) or "every weekday",
                ", ".join(WINDOW_NAMES.get(w, w) for w in _items(f.get("windows"))) or "AM, PM",
            ]
            for f in packet.floaters.to_dict("records")
        ]
        title = "Floaters: they cover absent workers' posts, standing by here otherwise"
        tables.append(Flowed(title, fitted(header, rows, wrapping=(1, 3)), 8.5))
    rows = _packet_rows(packet.posts, packet.shifts_of, packet.no_shifts)
    header = ["#", "Post", "Location", "AM shift", "PM shift", "Workers"]
    table = fitted(header, rows, wrapping=(2, 5))
    title = "Posts (number on the maps, shifts, workers)"
    tables.append(Flowed(title, table, 8.5, min_pt=6.5, empty="No posts."))
    more = [(f"{packet.name}: post packet, continued", 11.0, True)]
    yield from flow(tables, lambda: _page(lines, bottom=0.35), lambda: _page(more))


# ------------------------------------------------------------------ maps
def _school_page(
    result: PlanLike,
    school: Any,
    school_name: str,
    corridors: gpd.GeoDataFrame,
    posts: gpd.GeoDataFrame,
    numbers: dict[str, int],
) -> Figure:
    fig = Figure(figsize=LETTER_IN)
    title = f"{school_name} ({school.school_id})"
    subtitle = "Safe Passage routes (thick black) and posts (numbered discs)"
    heading(fig, [(title, 16.0, True), (subtitle, 10.0, False)], 0.975, bottom=0.91)
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
    draw_school(ax, school.geometry.x, school.geometry.y, school_name)
    map_furniture(ax, bbox)
    _post_key(fig, posts, numbers)
    return fig


# columns, font (pt), lines per column: the first that holds every entry
KEY_LAYOUTS = ((2, 8.0, 14), (3, 6.5, 17))
KEY_INDENT = " " * 6


def _post_key(fig: Figure, posts: gpd.GeoDataFrame, numbers: dict[str, int]) -> None:
    """The key under a school map: number, post id and label, in 2 or 3 columns.

    An entry longer than a column wraps onto more lines (a mid-block label
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
    for columns, size, lines in KEY_LAYOUTS:
        width = 0.86 * LETTER_IN[0] * 72 / columns - 6 - text_width_pt(KEY_INDENT, size)
        blocks = []
        for e in entries:
            first, *rest = wrap(e, width, size)
            blocks.append([first, *(KEY_INDENT + r for r in rest)])
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
    window = (
        f"School window AM {times.get((school, 'am'), '?')}, PM {times.get((school, 'pm'), '?')}"
    )
    lines = [
        (f"Post {number}: {post.post_id}", 18.0, True),
        (str(post.cross_streets), 14.0, False),
        (f"{school_name} ({school})    {window}", 10.0, False),
    ]
    heading(fig, lines, 0.975, bottom=0.872)
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
        for w in WINDOWS:
            mine = slots.get((w, day), shifts.iloc[:0])
            text = "; ".join(
                f"{w} {s}–{e}"
                for w, s, e in zip(mine["worker_id"], mine["start"], mine["end"], strict=True)
            )
            cells.append(text or "unstaffed")
        rows.append(cells)
    header = ["Day", "Morning (AM)", "Afternoon (PM)"]
    table = Table(header, rows, [0.12, 0.44, 0.44])
    # min_pt 4: the five days always fit this page
    draw_table(fig, (0.1, 0.04, 0.8, 0.21), Flowed("Assigned workers", table, 10.0, min_pt=4.0))
    return fig


# ------------------------------------------------------------------ workers
WEEK_HEADER = ["Day", "Window", "Post", "Location", "School", "Time", "Hours"]


WEEK_PT = 11.0


def _week_table(rows: list[list[str]]) -> Table:
    """The week table: location and school wrap, the other columns hold whole."""
    return fitted(WEEK_HEADER, rows, wrapping=(3, 4))


def _hours(minutes: float) -> str:
    return f"{minutes / 60:.1f}".removesuffix(".0")


def _week_rows(packet: _Packet, shifts: list[Mapping[Any, Any]]) -> list[list[str]]:
    """A worker's assignments, one row per weekday and window (``off`` when none)."""
    by_slot: dict[tuple[str, str], list[Mapping[Any, Any]]] = {}
    for a in sorted(shifts, key=lambda a: str(a["start"])):
        by_slot.setdefault((a["weekday"], a["window"]), []).append(a)
    rows = []
    for day in WEEKDAYS:
        for window in WINDOWS:
            name = WINDOW_NAMES.get(window, window)
            if (day, window) not in by_slot:
                rows.append([day, name, "—", "off", "", "", ""])
            for a in by_slot.get((day, window), []):
                number, label = packet.post_label(str(a["post_id"]))
                school = packet.school_names.get(str(a["school_id"]), str(a["school_id"]))
                time = f"{a['start']}–{a['end']}"
                rows.append([day, name, number, label, school, time, _hours(a["minutes"])])
    return rows


def _person_lines(packet: _Packet, worker_id: str, kind: str) -> list[tuple[str, float, bool]]:
    name, phone = packet.people.get(worker_id, ("", ""))
    return [
        (f"{kind} {worker_id}" + (f": {name}" if name else ""), 18.0, True),
        (f"Phone: {phone}" if phone else "", 12.0, False),
        (f"{packet.name} (vendor {packet.vendor_id})", 11.0, False),
        (_plan_line(packet.result), 10.0, False),
    ]


def _worker_pages(packet: _Packet, worker_id: str) -> Iterator[Figure]:
    """A worker's week: every shift with its post, cross streets, school and times."""
    shifts = packet.shifts_of_worker.get(worker_id, [])
    minutes = float(sum(a["minutes"] for a in shifts))
    days = len({a["weekday"] for a in shifts})
    lines = _person_lines(packet, worker_id, "Worker")
    if not shifts:
        lines.append(("No shifts this week.", 12.0, True))
    else:
        total = f"Weekly hours: {_hours(minutes)} ({len(shifts)} shifts on {days} days)"
        lines.append((total, 12.0, True))
    lines.append(("Post numbers are those of the maps and post pages of this packet.", 9.0, False))
    table = _week_table(_week_rows(packet, shifts))
    more = [(f"{packet.name}: worker {worker_id}, continued", 11.0, True)]
    yield from flow([Flowed("The week", table, WEEK_PT)], lambda: _page(lines), lambda: _page(more))


def _floater_pages(packet: _Packet, floater: Mapping[Any, Any]) -> Iterator[Figure]:
    """A floater's week: where they stand by, when, and any shift they were given."""
    worker_id = str(floater["worker_id"])
    where = packet.standby(floater)
    lines = _person_lines(packet, worker_id, "Floater")
    lines += [
        ("Covers absences: the supervisor sends you to the post of an absent worker.", 12.0, True),
        (f"Otherwise stand by {where}.", 11.0, False),
    ]
    days = _items(floater.get("weekdays")) or list(WEEKDAYS)
    windows = _items(floater.get("windows")) or list(WINDOWS)
    school = cell_text(floater.get("school_id"))
    rows = _week_rows(packet, packet.shifts_of_worker.get(worker_id, []))
    for row in rows:
        day, window = row[0], next((w for w, n in WINDOW_NAMES.items() if n == row[1]), row[1])
        if row[3] == "off" and day in days and window in windows:
            name = packet.school_names.get(school, school)
            row[2:6] = ["—", f"stand by {where}", name, packet.times.get((school, window), "")]
    table = _week_table(rows)
    more = [(f"{packet.name}: floater {worker_id}, continued", 11.0, True)]
    yield from flow([Flowed("The week", table, WEEK_PT)], lambda: _page(lines), lambda: _page(more))


# ------------------------------------------------------------------ sign-in
SIGN_IN_HEADER = ["#", "Location", "Shift", "Worker", "Name"]
SIGN_IN_HAND = (["Time in", "Time out", "Signature"], (0.08, 0.08, 0.16))


def _sign_in_pages(packet: _Packet, school_id: str, day: str) -> Iterator[Figure]:
    """A school's sign-in sheet for one weekday: each staffed post-window, then blank rows."""
    order = {w: i for i, w in enumerate(WINDOWS)}
    rows = []
    for a in packet.shifts_of_day.get((school_id, day), []):
        number, label = packet.post_label(str(a["post_id"]))
        rows.append(
            (
                order.get(str(a["window"]), len(order)),
                packet.numbers.get(str(a["post_id"]), 10**6),
                str(a["start"]),
                [
                    number,
                    label,
                    f"{WINDOW_NAMES.get(str(a['window']), str(a['window']))} "
                    f"{a['start']}–{a['end']}",
                    str(a["worker_id"]),
                    packet.people.get(str(a["worker_id"]), ("", ""))[0],
                ],
            )
        )
    body = [r[-1] for r in sorted(rows, key=lambda r: r[:3])]
    blank = ["", "", "", "", "Substitute:"]
    hand, hand_widths = SIGN_IN_HAND
    header = [*SIGN_IN_HEADER, *hand]
    rows_out = [[*r, "", "", ""] for r in [*body, *[blank] * SIGN_IN_BLANK_ROWS]]
    table = fitted(header, rows_out, wrapping=(1, 4), fixed=hand_widths)
    school = packet.school_names.get(school_id, school_id)
    lines = [
        (f"Sign-in sheet: {school} ({school_id})", 16.0, True),
        (f"{day}    Date: ______________    {packet.name} ({packet.vendor_id})", 11.0, False),
        (_plan_line(packet.result), 10.0, False),
    ]
    more = [(f"Sign-in sheet: {school}, {day}, continued", 11.0, True)]
    title = "Sign in on arriving at the post, out on leaving"
    item = Flowed(title, table, SIGN_IN_PT, min_pt=7.0, min_row_pt=SIGN_IN_ROW_PT)
    yield from flow([item], lambda: _page(lines), lambda: _page(more))


# ------------------------------------------------------------------ packet
def _vendor(result: PlanLike, vendor_id: str) -> pd.Series:
    vendors = result.vendors
    require_columns(vendors, ["vendor_id", "name", "school_ids"], "result.vendors")
    match = vendors[vendors["vendor_id"].astype(str) == str(vendor_id)]
    if match.empty:
        known = ", ".join(map(str, vendors["vendor_id"])) or "(none)"
        raise DataError(f"vendor {vendor_id!r} is not in result.vendors; known vendors: {known}")
    return match.iloc[0]


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


def packet_pages(result: PlanLike, vendor_id: str) -> Iterator[Figure]:
    """The pages of a vendor's packet, in order (see :func:`post_packet`), one at a time."""
    return _pages(_Packet(result, vendor_id))


def _pages(packet: _Packet) -> Iterator[Figure]:
    result = packet.result
    yield from _cover_pages(packet)
    routes_of = {sid: _routes_of(result, sid) for sid in packet.school_names}
    posts = packet.posts
    for school in packet.schools.itertuples(index=False):
        sid = str(school.school_id)
        mine = posts[posts["school_id"].astype(str) == sid]
        name = packet.school_names[sid]
        yield _school_page(result, school, name, routes_of[sid], mine, packet.numbers)
    for post in posts.itertuples(index=False):
        sid, number = str(post.school_id), packet.numbers[str(post.post_id)]
        shifts = packet.shifts_of.get(str(post.post_id), packet.no_shifts)
        name = packet.school_names[sid]
        yield _post_page(result, post, number, name, routes_of[sid], shifts, packet.times)
    for worker_id in packet.workers:
        yield from _worker_pages(packet, worker_id)
    for floater in packet.floaters.to_dict("records"):
        yield from _floater_pages(packet, floater)
    for sid in packet.school_names:
        for day in WEEKDAYS:
            yield from _sign_in_pages(packet, sid, day)


def post_packet(result: PlanLike, vendor_id: str, path: str | Path) -> Path:
    """Write a vendor's printable post packet (US Letter PDF) atomically.

    Pages, in order:

    * a cover: the vendor and its contact, its schools, its floaters (who,
      phone, where they stand by, their days) and every post with cross
      streets, shift times and worker ids, the plan date (the posts table
      runs onto more pages when long);
    * one map per school (streets, corridors, numbered posts with a key);
    * one page per chosen post (streets about 300 m around it with names,
      the corridor, the post, its shifts and workers per weekday, north
      arrow, scale bar);
    * one page per worker: name and phone when known, their week Mon–Fri
      by window (post number, cross streets, school, times) and weekly
      hours; floaters' pages say where they stand by and that they cover
      absences;
    * one sign-in sheet per school and weekday: the day's staffed
      post-windows with worker, and columns for time in, time out and a
      signature, with blank rows for substitutes.

    So the page count is 1 + schools + chosen posts + workers and floaters +
    5 × schools, plus a page for each table that runs long.  Text wraps or
    shrinks, never cut.  No student location, origin or count is printed.

    Parameters
    ----------
    result
        A plan (see :class:`~safepassage.maps.plan_data.PlanLike`).
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
    packet = _Packet(result, vendor_id)  # checks the tables before any page is drawn
    metadata = {
        "Title": f"Safe Passage posts — {packet.name}",
        "Creator": "safepassage",
        "CreationDate": None,
    }
    with atomic_file(path, mode=0o644) as part:  # packets are meant to be shared
        write_document(part, lambda: _pages(packet), metadata)
    logger.info("wrote post packet %s (%d posts)", path, len(packet.posts))
    return path


def _routes_of(result: PlanLike, school_id: str) -> gpd.GeoDataFrame:
    return result.corridors[result.corridors["school_id"].astype(str) == school_id]
