"""The vendors' staff beyond the roster: contacts, background checks and floaters.

* :func:`staff_table`: each worker's ``name`` and ``phone`` (optional columns of
  the workers table), kept for the vendor's packets; never student data.
* :func:`clearance`: the optional ``cleared`` column.  Workers must pass the
  district's background check before they stand at a post; ``cleared`` holds
  true/false (yes/no, 1/0) or the date the check cleared, compared with the plan
  date.  An empty cell is not cleared.
* :func:`floaters_table`: the floaters, with where each stands by default (a
  school of the vendor and its most valuable post) and how many post-windows of
  the week they already cover.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from safepassage.errors import DataError
from safepassage.schedule import WEEKDAYS, WINDOWS

__all__ = ["FLOATER_COLUMNS", "STAFF_COLUMNS", "clearance", "floaters_table", "staff_table"]

STAFF_COLUMNS = ["worker_id", "vendor_id", "name", "phone"]
FLOATER_COLUMNS = [
    "worker_id",
    "vendor_id",
    "name",
    "phone",
    "school_id",
    "post_id",
    "weekdays",
    "windows",
    "covering",
]
_TRUE = {"true", "yes", "y", "1", "cleared"}
_FALSE = {"false", "no", "n", "0", "pending", ""}


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number read as a number
    return str(value).strip()


def _joined(value: object, default: tuple[str, ...]) -> str:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value) or ";".join(default)
    text = _text(value)
    return text or ";".join(default)


def staff_table(workers: pd.DataFrame | None) -> pd.DataFrame:
    """``worker_id``, ``vendor_id``, ``name``, ``phone`` (``""`` when absent)."""
    if workers is None:
        return pd.DataFrame(columns=STAFF_COLUMNS)
    out = pd.DataFrame(
        {c: workers[c].map(_text) if c in workers else "" for c in STAFF_COLUMNS},
        index=workers.index,
    )
    return out.reset_index(drop=True)


def clearance(workers: pd.DataFrame, on: dt.date, source: str | Path = "workers") -> pd.Series:
    """Which workers may stand at a post on ``on``: True unless ``cleared`` says not.

    Without a ``cleared`` column every worker is cleared.  A cell is cleared
    when true/yes/1 or an ISO date no later than ``on``; false/no/0/pending,
    empty or a later date is not.

    Raises
    ------
    DataError
        Naming the file, the line (header = line 1), the column and the value,
        for a cell that is none of those.
    """
    if "cleared" not in workers:
        return pd.Series(True, index=workers.index)
    flags, problems = [], []
    for line, value in enumerate(workers["cleared"], start=2):
        text = _text(value).lower()
        if text in _TRUE:
            flags.append(True)
        elif text in _FALSE:
            flags.append(False)
        else:
            try:
                flags.append(dt.date.fromisoformat(text[:10]) <= on)
            except ValueError:
                flags.append(False)
                problems.append(f"line {line}: {_text(value)!r}")
    if problems:
        raise DataError(
            f"{source}: column 'cleared' must be true/false or a clearance date "
            f"(YYYY-MM-DD); {len(problems)} bad cell(s): " + ", ".join(problems[:10])
        )
    return pd.Series(flags, index=workers.index, dtype=bool)


def floaters_table(
    floaters: tuple[str, ...],
    workers: pd.DataFrame,
    vendors: pd.DataFrame,
    posts: pd.DataFrame,
    assignments: pd.DataFrame,
) -> pd.DataFrame:
    """The floaters and where each stands when not covering (see the module docstring).

    A vendor's floaters are spread over its schools, the school with the most
    selected posts per floater placed so far first (ties by school id); each
    stands by default at that school's most valuable selected post.

    Parameters
    ----------
    floaters
        Worker ids (``Roster.floaters``).
    workers
        The workers table (``worker_id``, ``vendor_id``; optional ``name``,
        ``phone``, ``weekdays``, ``windows``).
    vendors
        ``vendor_id`` and ``school_ids`` (lists) of the plan.
    posts
        ``post_id``, ``school_id``, ``selected``, ``value_am``, ``value_pm``.
    assignments
        The roster (``worker_id``): ``covering`` counts a floater's rows.
    """
    if not floaters:
        return pd.DataFrame(columns=FLOATER_COLUMNS)
    chosen = posts[posts["selected"].astype(bool)].assign(
        _value=lambda t: t["value_am"] + t["value_pm"], _school=lambda t: t["school_id"].astype(str)
    )
    best = (
        chosen.sort_values(["_school", "_value", "post_id"], ascending=[True, False, True])
        .groupby("_school")["post_id"]
        .first()
    )
    count = chosen.groupby("_school").size()
    schools_of = {
        str(v): [str(s) for s in ids]
        for v, ids in zip(vendors["vendor_id"], vendors["school_ids"], strict=True)
    }
    covering = assignments["worker_id"].astype(str).value_counts()
    staff = workers.assign(worker_id=workers["worker_id"].astype(str)).set_index("worker_id")
    placed: dict[str, int] = {}
    rows = []
    for worker_id in sorted(floaters):
        row = staff.loc[worker_id]
        vendor = _text(row["vendor_id"])
        schools = [s for s in schools_of.get(vendor, []) if s in count.index]
        school = post = ""
        if schools:
            school = min(schools, key=lambda s: (-count[s] / (placed.get(s, 0) + 1), s))
            placed[school] = placed.get(school, 0) + 1
            post = str(best[school])
        rows.append(
            (
                worker_id,
                vendor,
                _text(row.get("name")),
                _text(row.get("phone")),
                school,
                post,
                _joined(row.get("weekdays"), WEEKDAYS),
                _joined(row.get("windows"), WINDOWS),
                int(covering.get(worker_id, 0)),
            )
        )
    return pd.DataFrame(rows, columns=FLOATER_COLUMNS)
