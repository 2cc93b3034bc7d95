"""``safepassage compare``: what changed between two plan output folders.

Selected posts of the two folders are matched by ``post_id`` first; posts
left over are then matched by place: the nearest old/new pair within
:data:`MATCH_M` metres first, each post at most once (so ids that changed,
e.g. between plans made before and after place-derived ids, are not counted
as one post removed and another added).  A matched post farther than
:data:`MOVED_M` from where it was has moved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.spatial import cKDTree

from .errors import DataError, MissingColumnError

__all__ = ["MATCH_M", "MOVED_M", "OutputComparison", "compare_outputs"]

MOVED_M = 10.0  # a post whose location changed by more than this has moved
MATCH_M = 30.0  # posts of different ids this close are taken for the same post

_POST_COLUMNS = [
    "status",
    "old_id",
    "new_id",
    "distance_m",
    "school_id",
    "school_name",
    "cross_streets",
]


@dataclass(frozen=True)
class OutputComparison:
    """Differences between two plan output folders.

    Attributes
    ----------
    added, removed
        Post ids selected only in the new / only in the old plan (no post of
        the other plan has the id or lies within ``MATCH_M`` metres).
    moved
        ``(post_id, distance_m)`` (new id) for matched posts that moved > ``MOVED_M``.
    unchanged
        Number of matched posts that did not move (whatever their id).
    renamed
        ``(old_id, new_id, distance_m)`` for posts matched by place.
    posts
        One row per post of either plan: ``status`` (unchanged, moved, added,
        removed), ``old_id``, ``new_id``, ``distance_m`` (NaN when unmatched),
        ``school_id``, ``school_name`` and ``cross_streets`` (of the new plan
        when there; ``""`` when the folder's posts.csv lacks the column).
    workers
        Per vendor: ``vendor_id``, ``moved`` (workers whose posts changed),
        ``added`` (only in the new roster), ``removed`` (only in the old roster).
    coverage_old, coverage_new
        Staffed post-windows (distinct ``post_id`` x ``window``) in each roster.
    """

    added: list[str]
    removed: list[str]
    moved: list[tuple[str, float]]
    unchanged: int
    workers: pd.DataFrame
    coverage_old: int
    coverage_new: int
    renamed: list[tuple[str, str, float]]
    posts: pd.DataFrame


def _read_output(folder: Path, name: str, columns: Sequence[str]) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise DataError(f"{path} not found; is {folder} a safepassage plan output folder?")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnError(missing, found=table.columns, source=str(path))
    return table


def _selected_posts(folder: Path) -> pd.DataFrame:
    """Selected posts indexed by id: ``x``, ``y`` and the describing columns (maybe ``""``)."""
    posts = _read_output(folder, "posts.csv", ("post_id", "x", "y"))
    if "selected" in posts:
        posts = posts[posts["selected"].str.strip().str.lower().isin({"true", "1", "yes"})]
    coords = posts[["x", "y"]].apply(pd.to_numeric, errors="coerce")
    if coords.isna().any().any():
        raise DataError(f"{folder / 'posts.csv'}: columns x/y hold non-numbers")
    table = coords.assign(
        **{c: posts.get(c, "") for c in ("school_id", "school_name", "cross_streets")}
    )
    located: pd.DataFrame = table.set_axis(posts["post_id"].to_numpy()).groupby(level=0).first()
    return located


def _match_by_place(old: pd.DataFrame, new: pd.DataFrame) -> list[tuple[str, str, float]]:
    """Nearest pairs first, within ``MATCH_M``, each post at most once."""
    if old.empty or new.empty:
        return []
    a = cKDTree(old[["x", "y"]].to_numpy(dtype=float))
    b = cKDTree(new[["x", "y"]].to_numpy(dtype=float))
    near = a.sparse_distance_matrix(b, MATCH_M, output_type="ndarray")
    pairs = sorted(
        (float(d), str(old.index[int(i)]), str(new.index[int(j)])) for i, j, d in near.tolist()
    )
    used_old: set[str] = set()
    used_new: set[str] = set()
    matches = []
    for distance, old_id, new_id in pairs:
        if old_id not in used_old and new_id not in used_new:
            used_old.add(old_id)
            used_new.add(new_id)
            matches.append((old_id, new_id, distance))
    return sorted(matches)


def _worker_moves(old: pd.DataFrame, new: pd.DataFrame, renamed: dict[str, str]) -> pd.DataFrame:
    def posts_of(
        roster: pd.DataFrame, ids: dict[str, str]
    ) -> dict[tuple[str, str], frozenset[str]]:
        groups = roster.groupby(["vendor_id", "worker_id"])["post_id"]
        return {(str(k[0]), str(k[1])): frozenset(ids.get(p, p) for p in v) for k, v in groups}

    before, after = posts_of(old, renamed), posts_of(new, {})
    vendors = sorted({v for v, _ in before} | {v for v, _ in after})
    rows = []
    for vendor in vendors:
        was = {w: p for (v, w), p in before.items() if v == vendor}
        now = {w: p for (v, w), p in after.items() if v == vendor}
        moved = sum(1 for w in was.keys() & now.keys() if was[w] != now[w])
        rows.append((vendor, moved, len(now.keys() - was.keys()), len(was.keys() - now.keys())))
    return pd.DataFrame(rows, columns=["vendor_id", "moved", "added", "removed"])


def _records(posts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(k): {str(c): x for c, x in row.items()} for k, row in posts.to_dict("index").items()
    }


def _describe(row: dict[str, Any]) -> tuple[str, str, str]:
    return str(row["school_id"]), str(row["school_name"]), str(row["cross_streets"])


def compare_outputs(old_dir: str | Path, new_dir: str | Path) -> OutputComparison:
    """Compare the ``posts.csv`` and ``roster.csv`` of two plan output folders.

    Only selected posts count (all rows when ``posts.csv`` has no ``selected``
    column); ``x``/``y`` are metres in the plan CRS.  Posts are matched by id,
    then by place (see the module docstring); ``school_name`` and
    ``cross_streets`` are optional columns (older folders lack the first).
    """
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    old_posts, new_posts = _selected_posts(old_dir), _selected_posts(new_dir)
    both = [str(p) for p in old_posts.index.intersection(new_posts.index)]
    pairs = [(p, p) for p in both]
    renamed = _match_by_place(old_posts.drop(index=both), new_posts.drop(index=both))
    pairs += [(o, n) for o, n, _ in renamed]
    old_of, new_of = _records(old_posts), _records(new_posts)
    rows = []
    for old_id, new_id in pairs:
        was, now = old_of[old_id], new_of[new_id]
        distance = math.hypot(float(now["x"]) - float(was["x"]), float(now["y"]) - float(was["y"]))
        status = "moved" if distance > MOVED_M else "unchanged"
        rows.append((status, old_id, new_id, distance, *_describe(now)))
    matched_old = {o for o, _ in pairs}
    matched_new = {n for _, n in pairs}
    added = sorted(str(p) for p in new_posts.index if str(p) not in matched_new)
    removed = sorted(str(p) for p in old_posts.index if str(p) not in matched_old)
    rows += [("added", "", p, math.nan, *_describe(new_of[p])) for p in added]
    rows += [("removed", p, "", math.nan, *_describe(old_of[p])) for p in removed]
    table = pd.DataFrame(rows, columns=_POST_COLUMNS)
    order = {"moved": 0, "added": 1, "removed": 2, "unchanged": 3}
    table = table.sort_values(
        ["status", "new_id", "old_id"], key=lambda c: c.map(order) if c.name == "status" else c
    ).reset_index(drop=True)
    moved = table[table["status"] == "moved"]
    roster_columns = ("worker_id", "vendor_id", "post_id", "weekday", "window")
    old_roster = _read_output(old_dir, "roster.csv", roster_columns)
    new_roster = _read_output(new_dir, "roster.csv", roster_columns)
    return OutputComparison(
        added=added,
        removed=removed,
        moved=sorted(zip(moved["new_id"], moved["distance_m"].astype(float), strict=True)),
        unchanged=int((table["status"] == "unchanged").sum()),
        workers=_worker_moves(old_roster, new_roster, {o: n for o, n, _ in renamed}),
        coverage_old=len(old_roster[["post_id", "window"]].drop_duplicates()),
        coverage_new=len(new_roster[["post_id", "window"]].drop_duplicates()),
        renamed=renamed,
        posts=table,
    )
