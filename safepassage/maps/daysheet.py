"""A vendor's day sheet: who stands where on one day, changes marked (US Letter PDF).

Written for ``safepassage replan``: after absences are covered, the supervisor
prints one page that lists every post of the vendor's schools by window with
its worker, the changed assignments in bold behind a "»" (readable in black
and white), and a footer counting the changes.  No student data: the rows
carry posts, times and workers only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..atomic import atomic_file
from ..errors import DataError, require_columns
from ..schedule import WINDOWS
from .sheet import LETTER_IN, Flowed, Table, cell_text, fitted, flow, heading, write_document

__all__ = ["CHANGED", "DAY_SHEET_COLUMNS", "day_sheet"]

logger = logging.getLogger(__name__)

#: The columns of ``day_sheet``'s ``rows``.
DAY_SHEET_COLUMNS = [
    "school_name",
    "post_id",
    "post_number",
    "cross_streets",
    "window",
    "start",
    "end",
    "worker_id",
    "worker_name",
    "changed",
    "note",
]
CHANGED = "»"  # in WinAnsi, so the sheet keeps the core fonts
MIN_PT = 4.5  # a crowded day still fits one page down to this size


def _windows(rows: pd.DataFrame) -> list[str]:
    seen = list(dict.fromkeys(rows["window"]))
    return [w for w in WINDOWS if w in seen] + [w for w in seen if w not in WINDOWS]


def _table(rows: pd.DataFrame) -> tuple[Table, int]:
    """The sheet's table (a band per school, a row per post) and how many rows changed.

    A school's band carries its windows' times when every post shares them;
    otherwise each cell carries its own.
    """
    windows = _windows(rows)
    header = ["", "#", "Location", *(f"{w.upper()} worker" for w in windows), "Note"]
    body: list[list[str]] = []
    bold: set[tuple[int, int]] = set()
    rows = rows.sort_values(["school_name", "post_number", "post_id", "window", "start"])
    for school, posts in rows.groupby("school_name", sort=False):
        spans = {w: set(zip(g["start"], g["end"], strict=True)) for w, g in posts.groupby("window")}
        shared = {
            w: f"{next(iter(t))[0]}–{next(iter(t))[1]}" for w, t in spans.items() if len(t) == 1
        }
        times = "    ".join(f"{w.upper()} {shared[w]}" for w in windows if w in shared)
        body.append([f"{school}    {times}".strip()])
        for _, post in posts.groupby(["post_number", "post_id"], sort=False):
            first = post.iloc[0]
            cells = ["", str(first["post_number"]), str(first["cross_streets"])]
            notes, any_changed = [], False
            for j, window in enumerate(windows, start=3):
                mine = post[post["window"] == window]
                people = [
                    ("" if window in shared else f"{r['start']}–{r['end']} ")
                    + (f"{r['worker_id']} {r['worker_name']}" if r["worker_id"] else "unstaffed")
                    for r in mine.to_dict("records")
                ]
                text = "; ".join(p.strip() for p in people) or "—"
                if mine["changed"].any():
                    text, any_changed = f"{CHANGED} {text}", True
                    bold.add((len(body), j))
                cells.append(text)
                notes += [f"{window.upper()}: {n}" for n in dict.fromkeys(mine["note"]) if n]
            if any_changed:
                cells[0] = CHANGED
                bold.add((len(body), 0))
            cells.append("; ".join(notes))
            body.append(cells)
    table = fitted(header, body, wrapping=tuple(range(2, len(header))))
    return dataclasses.replace(table, bold=frozenset(bold)), int(rows["changed"].sum())


def day_sheet(
    path: str | Path,
    *,
    vendor_name: str,
    vendor_id: str,
    day: str,
    rows: pd.DataFrame,
    plan_name: str,
    plan_date: str,
) -> Path:
    """Write one vendor's day sheet (US Letter PDF) atomically: who stands where on ``day``.

    One page, the text shrinking (to 4.5 pt) to hold a whole vendor's posts; a
    longer day runs onto more pages rather than cut any text.  A band per
    school, a row per post with a column per window: the worker (id and name)
    and times.  Assignments with ``changed`` are bold behind "»" (the row's
    first cell too), their ``note`` printed; the footer counts the changes.

    Parameters
    ----------
    path
        The PDF to write (its folder is created).
    vendor_name, vendor_id, day, plan_name, plan_date
        The heading (``day`` as printed, e.g. ``"Tue 2016-10-04"``).
    rows
        One row per assignment: ``school_name``, ``post_id``, ``post_number``
        (int), ``cross_streets``, ``window`` (am/pm), ``start``, ``end``
        (``HH:MM``), ``worker_id`` (empty: unstaffed), ``worker_name``,
        ``changed`` (bool), ``note`` (e.g. ``"covers W12 (absent)"`` or ``""``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        When ``rows`` lacks a column.
    """
    path = Path(path)
    require_columns(rows, DAY_SHEET_COLUMNS, "day sheet rows")
    text_columns = [c for c in DAY_SHEET_COLUMNS if c not in ("post_number", "changed")]
    clean = rows.assign(**{c: rows[c].map(cell_text) for c in text_columns})
    try:
        clean["post_number"] = pd.to_numeric(clean["post_number"]).astype(int)
    except (TypeError, ValueError) as error:
        raise DataError(f"day sheet rows: post_number must be whole numbers ({error})") from error
    clean["changed"] = clean["changed"].fillna(False).astype(bool)
    table, changes = _table(clean)
    plan = f"Plan: {plan_name}" + (f"    Date: {plan_date}" if plan_date else "")
    lines = [
        (f"Safe Passage day sheet: {day}", 14.0, True),
        (f"{vendor_name} ({vendor_id})    {plan}", 9.5, False),
    ]
    word = "change" if changes == 1 else "changes"
    footer = f"{changes} {word} from the plan, marked {CHANGED} and bold."

    def page(head: list[tuple[str, float, bool]]) -> tuple[Figure, float]:
        fig = Figure(figsize=LETTER_IN)
        fig.text(0.07, 0.02, footer, fontsize=9, fontweight="bold", va="bottom", zorder=0)
        return fig, heading(fig, head, 0.975, bottom=0.9)

    def pages() -> Iterator[Figure]:
        more = [(f"Day sheet {day}, {vendor_name}: continued", 11.0, True)]
        posts = Flowed(
            "Who stands where",
            table,
            9.0,
            min_pt=MIN_PT,
            row_pad=0.45,
            empty="No posts staffed this day.",
        )
        yield from flow([posts], lambda: page(lines), lambda: page(more))

    metadata = {
        "Title": f"Safe Passage day sheet {day} — {vendor_name}",
        "Creator": "safepassage",
        "CreationDate": None,
    }
    with atomic_file(path, mode=0o644) as part:
        write_document(part, pages, metadata)
    logger.info("wrote day sheet %s (%d changes)", path, changes)
    return path
