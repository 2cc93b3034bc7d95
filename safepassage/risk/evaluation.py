"""Predictive check of a risk surface: hit rate and PAI on later incidents."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..routes.network import WalkNetwork
from ..streets import NON_STREET_HIGHWAYS
from .incidents import Incidents, in_window
from .kernel import street_segments
from .surface import RiskSurface

__all__ = ["evaluate"]


def _flag_top(
    risk: NDArray[np.float64], length: NDArray[np.float64], share: float
) -> NDArray[np.bool_]:
    """Flag segments by descending risk until ``share`` of the length is flagged."""
    order = np.lexsort((np.arange(risk.size), -risk))
    cum = np.cumsum(length[order])
    n_flag = min(int(np.searchsorted(cum, share * cum[-1], side="left")) + 1, risk.size)
    flagged = np.zeros(risk.size, dtype=bool)
    flagged[order[:n_flag]] = True
    return flagged


def evaluate(
    surface: RiskSurface,
    network: WalkNetwork,
    later_incidents: Incidents,
    window: str | None = None,
    top: Sequence[float] = (0.05, 0.10),
    attribution_m: float = 50.0,
    *,
    exclude_highways: Collection[str] = NON_STREET_HIGHWAYS,
) -> pd.DataFrame:
    """Hit rate and Predictive Accuracy Index of the surface on later incidents.

    Streets are ranked by risk and flagged from the top until ``top`` share
    of the street length is flagged.  Each later incident is attributed to its
    nearest street within ``attribution_m``.  PAI = (hits / attributed
    incidents) / (flagged length / total length); 1 is no better than chance.
    Works on undirected segments (each two-way street once) and leaves out
    ``exclude_highways`` classes (alleys, service roads, footways...).

    Parameters
    ----------
    window
        Window of the surface to test; the later incidents are filtered to its
        hours.  None: the sum over all windows against all later incidents.

    Returns
    -------
    pandas.DataFrame
        One row per share in ``top``: ``window``, ``top``, ``length_share``
        (actually flagged), ``flagged_km``, ``incidents_total`` (later incidents
        in the window), ``incidents`` (attributed to a street), ``hits``,
        ``hit_rate``, ``pai``.
    """
    surface.check_network(network)
    segments = street_segments(network)
    keep = ~network.edges["highway"].isin(list(exclude_highways)).to_numpy()[segments.edge]
    if window is None:
        risk = sum((surface.risk(w) for w in surface.windows), np.zeros(surface.n_edges))
        later = later_incidents
    else:
        risk = surface.risk(window)
        spec = surface.params.get("windows", {}).get(window)
        later = later_incidents
        if spec is not None:
            later = later.subset(in_window(later, {window: spec})[window].to_numpy())
    seg_ids = np.flatnonzero(keep)
    seg_risk = risk[segments.edge[seg_ids]]
    seg_length = segments.length_m[seg_ids]
    tree = shapely.STRtree(segments.geometry[seg_ids])
    _, nearest = tree.query_nearest(
        np.asarray(later.table.geometry.values), max_distance=attribution_m, all_matches=False
    )
    hits_per_seg = np.bincount(nearest, minlength=seg_ids.size)
    rows = []
    for share in top:
        flagged = _flag_top(seg_risk, seg_length, float(share))
        length_share = float(seg_length[flagged].sum() / seg_length.sum())
        hits = int(hits_per_seg[flagged].sum())
        hit_rate = hits / max(nearest.size, 1)
        rows.append(
            {
                "window": window or "all",
                "top": float(share),
                "length_share": length_share,
                "flagged_km": float(seg_length[flagged].sum() / 1000.0),
                "incidents_total": len(later),
                "incidents": int(nearest.size),
                "hits": hits,
                "hit_rate": hit_rate,
                "pai": hit_rate / length_share if length_share else np.nan,
            }
        )
    return pd.DataFrame(rows)
