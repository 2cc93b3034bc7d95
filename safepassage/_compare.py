"""``safepassage compare``: what changed between two plan output folders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataError, MissingColumnError

__all__ = ["MOVED_M", "OutputComparison", "compare_outputs"]

MOVED_M = 10.0  # a post whose location changed by more than this has moved


@dataclass(frozen=True)
class OutputComparison:
    """Differences between two plan output folders.

    Attributes
    ----------
    added, removed
        Post ids selected only in the new / only in the old plan.
    moved
        ``(post_id, distance_m)`` for posts in both whose location moved > 10 m.
    unchanged
        Number of posts in both plans that did not move.
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
    posts = _read_output(folder, "posts.csv", ("post_id", "x", "y"))
    if "selected" in posts:
        posts = posts[posts["selected"].str.strip().str.lower().isin({"true", "1", "yes"})]
    coords = posts[["x", "y"]].apply(pd.to_numeric, errors="coerce")
    if coords.isna().any().any():
        raise DataError(f"{folder / 'posts.csv'}: columns x/y hold non-numbers")
    located: pd.DataFrame = coords.set_axis(posts["post_id"].to_numpy()).groupby(level=0).first()
    return located


def _worker_moves(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    def posts_of(roster: pd.DataFrame) -> dict[tuple[str, str], frozenset[str]]:
        groups = roster.groupby(["vendor_id", "worker_id"])["post_id"]
        return {(str(k[0]), str(k[1])): frozenset(v) for k, v in groups}

    before, after = posts_of(old), posts_of(new)
    vendors = sorted({v for v, _ in before} | {v for v, _ in after})
    rows = []
    for vendor in vendors:
        was = {w: p for (v, w), p in before.items() if v == vendor}
        now = {w: p for (v, w), p in after.items() if v == vendor}
        moved = sum(1 for w in was.keys() & now.keys() if was[w] != now[w])
        rows.append((vendor, moved, len(now.keys() - was.keys()), len(was.keys() - now.keys())))
    return pd.DataFrame(rows, columns=["vendor_id", "moved", "added", "removed"])


def compare_outputs(old_dir: str | Path, new_dir: str | Path) -> OutputComparison:
    """Compare the ``posts.csv`` and ``roster.csv`` of two plan output folders.

    Only selected posts count (all rows when ``posts.csv`` has no ``selected``
    column); ``x``/``y`` are metres in the plan CRS.
    """
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    old_posts, new_posts = _selected_posts(old_dir), _selected_posts(new_dir)
    both = old_posts.index.intersection(new_posts.index)
    shift = (new_posts.loc[both] - old_posts.loc[both]).pow(2).sum(axis=1).pow(0.5)
    moved = [(str(p), float(d)) for p, d in shift.items() if d > MOVED_M]
    roster_columns = ("worker_id", "vendor_id", "post_id", "weekday", "window")
    old_roster = _read_output(old_dir, "roster.csv", roster_columns)
    new_roster = _read_output(new_dir, "roster.csv", roster_columns)
    return OutputComparison(
        added=sorted(map(str, new_posts.index.difference(old_posts.index))),
        removed=sorted(map(str, old_posts.index.difference(new_posts.index))),
        moved=sorted(moved),
        unchanged=len(both) - len(moved),
        workers=_worker_moves(old_roster, new_roster),
        coverage_old=len(old_roster[["post_id", "window"]].drop_duplicates()),
        coverage_new=len(new_roster[["post_id", "window"]].drop_duplicates()),
    )
