"""Review of the designated routes: who walks them, how risky they are, what they miss.

For each designated corridor (``source`` = ``designated``) and window:

* ``students_<w>``: the modelled students walking it, each weighted by the share
  of their route's length on it (an aggregate, never a student);
* ``risk_<w>``: length-weighted mean risk along it (weighted incidents per km per
  year);
* ``exposure_<w>``: student-weighted risk on it, Σ students × risk × km over its
  street segments;
* ``riskiest``: its riskiest segment in either window, named "<street> between
  <cross street> and <cross street>" ("near <cross street>" when one end is not a
  corner);
* ``uncovered_exposure_<w>``: student-weighted risk on the streets the school's
  students walk outside every designated route, and ``uncovered_share_<w>`` of
  the school's total (what the routes leave unwatched).

Uncovered exposure is counted once per school; a school with two routes shows it
on each.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..streets import corner_streets, short_street_name
from .corridors import segment_keys, students_on
from .network import WalkNetwork
from .paths import RouteSet

__all__ = ["REVIEW_COLUMNS", "review_routes"]

REVIEW_COLUMNS = ["route_id", "school_id", "length_m", "matched_share", "riskiest"]


def review_routes(
    network: WalkNetwork,
    corridors: gpd.GeoDataFrame,
    routes: RouteSet,
    risk_by_window: Mapping[str, NDArray[np.float64]],
) -> gpd.GeoDataFrame | None:
    """One row per designated corridor (see the module docstring for the columns).

    None when no corridor is designated.
    """
    designated = corridors[corridors["source"] == "designated"].reset_index(drop=True)
    if designated.empty:
        return None
    windows = list(risk_by_window)
    length = network.edges["length"].to_numpy(dtype=np.float64)
    key = segment_keys(network)
    columns = [*REVIEW_COLUMNS] + [
        f"{name}_{w}"
        for name in ("students", "risk", "exposure", "uncovered_exposure", "uncovered_share")
        for w in windows
    ]
    covered = _covered_by_school(designated, key)
    table = designated[["route_id", "school_id", "length_m", "matched_share", "geometry"]].copy()
    table["riskiest"] = [_riskiest(network, ids, risk_by_window) for ids in designated["edge_ids"]]
    for w, risk in risk_by_window.items():
        part = routes.routes[routes.routes["window"] == w]
        flow = routes.flow(w, len(length))
        seg_flow = pd.Series(flow).groupby(key).sum()  # both directions of a street
        students, mean_risk, exposure = [], [], []
        for ids, school in zip(designated["edge_ids"], designated["school_id"], strict=True):
            ids = np.asarray(ids, dtype=np.int64)
            on = np.isin(key, key[ids])
            mine = part[part["school_id"] == school]
            students.append(round(students_on(mine, on, length), 1))
            mean_risk.append(float((risk[ids] * length[ids]).sum() / max(length[ids].sum(), 1e-9)))
            exposure.append(
                float(
                    (seg_flow.reindex(key[ids]).to_numpy() * risk[ids] * length[ids]).sum() / 1000
                )
            )
        table[f"students_{w}"] = students
        table[f"risk_{w}"] = np.round(mean_risk, 3)
        table[f"exposure_{w}"] = np.round(exposure, 2)
        uncovered, share = _uncovered(designated["school_id"], part, covered, key, risk, length)
        table[f"uncovered_exposure_{w}"] = np.round(uncovered, 2)
        table[f"uncovered_share_{w}"] = np.round(share, 3)
    return gpd.GeoDataFrame(table[[*columns, "geometry"]], geometry="geometry", crs=network.crs)


def _covered_by_school(designated: pd.DataFrame, key: NDArray[np.int64]) -> dict[str, set[int]]:
    covered: dict[str, set[int]] = {}
    for school, ids in zip(designated["school_id"], designated["edge_ids"], strict=True):
        covered.setdefault(str(school), set()).update(key[np.asarray(ids, dtype=np.int64)].tolist())
    return covered


def _uncovered(
    schools: pd.Series,
    routes: pd.DataFrame,
    covered: dict[str, set[int]],
    key: NDArray[np.int64],
    risk: NDArray[np.float64],
    length: NDArray[np.float64],
) -> tuple[list[float], list[float]]:
    """Per corridor row: its school's student-weighted risk off every designated route."""
    by_school: dict[str, tuple[float, float]] = {}
    for school in map(str, schools.unique()):
        mine = routes[routes["school_id"] == school]
        outside = total = 0.0
        on_route = covered[school]
        for students, ids in zip(mine["students"], mine["edge_ids"], strict=True):
            ids = np.asarray(ids, dtype=np.int64)
            if not ids.size:
                continue
            exposure = students * risk[ids] * length[ids] / 1000
            off = ~np.isin(key[ids], list(on_route))
            outside += float(exposure[off].sum())
            total += float(exposure.sum())
        by_school[school] = (outside, outside / total if total > 0 else 0.0)
    return [by_school[str(s)][0] for s in schools], [by_school[str(s)][1] for s in schools]


def _riskiest(
    network: WalkNetwork, edge_ids: list[int], risk_by_window: Mapping[str, NDArray[np.float64]]
) -> str:
    """The corridor's riskiest segment (either window): "<street> between <a> and <b>"."""
    ids = np.asarray(edge_ids, dtype=np.int64)
    if not ids.size:
        return ""
    peak = np.max([risk[ids] for risk in risk_by_window.values()], axis=0)
    edge = int(ids[int(np.argmax(peak))])
    row = network.edges.iloc[edge]
    street = short_street_name(str(row["name"])) if str(row["name"]) else "an unnamed way"
    ends: list[str] = []
    for streets in corner_streets(network, [int(row["u"]), int(row["v"])]):
        ends.extend(s for s in streets[:2] if s != street)
    named = list(dict.fromkeys(ends))
    if len(named) >= 2:
        return f"{street} between {named[0]} and {named[1]}"
    return f"{street} near {named[0]}" if named else f"{street} (mid-block)"
