"""Risk per street segment and time window; hazard layers; a predictive check.

The kernel
----------
Each incident spreads its weight along nearby streets.  For a straight piece
of street of length ``L`` and an incident at perpendicular distance ``d`` whose
foot point lies ``t`` metres along the piece (``t`` < 0 or > ``L`` beyond its
ends), the Gaussian kernel of bandwidth ``h`` gives the piece

    k = exp(-d² / (2 h²)) · [Φ((L - t) / h) - Φ(-t / h)]

(Φ the standard normal CDF), which is the line integral of the 2-D Gaussian
``exp(-r² / 2h²) / (h √(2π))`` along the piece; a curved segment sums its
straight pieces.  An infinite street through the incident collects 1, a
parallel street 150 m away 0.61 (h = 150 m).  Pieces farther than 3 h from the
incident get 0 (truncation).  ``kernel="uniform"``: the length of street inside
the disk of radius ``h`` around the incident, divided by ``2 h``.
``kernel="count"``: 1 for each incident within ``h`` of the segment (the naive
baseline).

Risk of a segment in a window = Σ weight · k over the incidents of that
window, divided by the segment length in km (``edges["length"]``, at least
1 m) and by the years the incidents span: weighted incidents per km per year.
Both directions of a street get the same risk.  Hazard layers (e.g. vacant
lots) add ``layer weight · Σ k / km`` in every window.

Everything is vectorised: an STRtree query of boxes around chunks of
incidents gives candidate (incident, segment) pairs, numpy computes the kernel
per straight piece, and ``numpy.bincount`` sums per segment.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.special import ndtr

from ..errors import CRSError, DataError
from ..routes.network import WalkNetwork
from .incidents import Incidents, in_window, recency_weights

__all__ = ["NON_STREET_HIGHWAYS", "RiskSurface", "evaluate", "score", "segment_kernel"]

KERNELS = ("gaussian", "uniform", "count")
KERNEL_REACH = {"gaussian": 3.0, "uniform": 1.0, "count": 1.0}  # truncation, in bandwidths
# Street classes left out of the predictive check (not where pupils walk along traffic).
NON_STREET_HIGHWAYS = frozenset(
    {"service", "alley", "footway", "path", "steps", "connector", "pedestrian", "track",
     "cycleway", "corridor", "elevator", "platform", "bridleway", "sidewalk", "crossing"}
)  # fmt: skip
Window = tuple[str, str] | None


# ----------------------------------------------------------------- segments
@dataclass(frozen=True)
class _Segments:
    """Undirected street segments: each two-way street once."""

    of_edge: NDArray[np.int64]  # segment index of each edge
    edge: NDArray[np.int64]  # representative edge id of each segment
    geometry: NDArray[np.object_]
    length_m: NDArray[np.float64]  # edges["length"] of the representative edge


def _segments(network: WalkNetwork) -> _Segments:
    edges = network.edges
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
    key = pd.DataFrame(
        {"a": np.minimum(u, v), "b": np.maximum(u, v), "len": np.round(edges["length"], 1)}
    )
    of_edge, _ = pd.factorize(pd.MultiIndex.from_frame(key))
    of_edge = of_edge.astype(np.int64)
    first = np.full(of_edge.max() + 1, len(edges), dtype=np.int64)
    np.minimum.at(first, of_edge, np.arange(len(edges), dtype=np.int64))
    return _Segments(
        of_edge,
        first,
        np.asarray(edges.geometry.values)[first],
        edges["length"].to_numpy(dtype=np.float64)[first],
    )


# ------------------------------------------------------------------- kernel
@dataclass(frozen=True)
class _Pieces:
    """Straight pieces of the segments' polylines, for numpy-only kernel sums."""

    x0: NDArray[np.float64]
    y0: NDArray[np.float64]
    ux: NDArray[np.float64]  # unit direction
    uy: NDArray[np.float64]
    length: NDArray[np.float64]  # geometric, metres
    first: NDArray[np.int64]  # first piece of each segment
    count: NDArray[np.int64]  # pieces of each segment


def _pieces(geometry: NDArray[np.object_]) -> _Pieces:
    coords, owner = shapely.get_coordinates(geometry, return_index=True)
    same = owner[1:] == owner[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    dx, dy = end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]
    length = np.hypot(dx, dy)
    norm = np.where(length > 0, length, 1.0)
    count = np.bincount(owner[:-1][same], minlength=geometry.size).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return _Pieces(start[:, 0], start[:, 1], dx / norm, dy / norm, length, first, count)


def _piece_kernel(
    t: NDArray[np.float64],
    perp: NDArray[np.float64],
    length: NDArray[np.float64],
    h: float,
    kernel: str,
) -> NDArray[np.float64]:
    """Kernel share of one straight piece for a point at foot offset ``t``, distance ``perp``."""
    if kernel == "gaussian":
        beyond = np.maximum(np.maximum(-t, t - length), 0.0)
        inside = perp * perp + beyond * beyond <= (3.0 * h) ** 2  # truncation at 3 h
        along = ndtr((length - t) / h) - ndtr(-t / h)
        return np.where(inside, np.exp(-(perp * perp) / (2.0 * h * h)) * along, 0.0)
    # uniform: length of the piece inside the disk of radius h, over 2 h
    half_chord = np.sqrt(np.maximum(h * h - perp * perp, 0.0))
    overlap = np.minimum(length, t + half_chord) - np.maximum(0.0, t - half_chord)
    return np.where(perp <= h, np.clip(overlap, 0.0, None), 0.0) / (2.0 * h)


def _pair_values(
    pieces: _Pieces,
    seg_idx: NDArray[np.int64],
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    bandwidths: Sequence[float],
    kernel: str,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Expand (point, segment) pairs to pieces and sum each pair's kernel value."""
    counts = pieces.count[seg_idx]
    pair = np.repeat(np.arange(seg_idx.size), counts)
    offset = np.arange(pair.size) - np.repeat(np.cumsum(counts) - counts, counts)
    piece = pieces.first[seg_idx][pair] + offset
    rx, ry = px[pair] - pieces.x0[piece], py[pair] - pieces.y0[piece]
    t = rx * pieces.ux[piece] + ry * pieces.uy[piece]
    perp = np.abs(rx * pieces.uy[piece] - ry * pieces.ux[piece])
    length = pieces.length[piece]
    if kernel == "count":
        closest = np.clip(t, 0.0, length)
        near = np.hypot(rx - closest * pieces.ux[piece], ry - closest * pieces.uy[piece])
        hit = np.zeros(seg_idx.size, dtype=bool)
        hit[pair[near <= bandwidths[0]]] = True
        return seg_idx, hit.astype(np.float64)
    value = np.zeros(seg_idx.size)
    for h in bandwidths:
        value += np.bincount(
            pair, weights=_piece_kernel(t, perp, length, h, kernel), minlength=seg_idx.size
        )
    return seg_idx, value / len(bandwidths)


def segment_kernel(
    lines: Any, points: Any, bandwidth_m: float, kernel: str = "gaussian"
) -> NDArray[np.float64]:
    """Kernel value of each (segment, point) pair; see the module docstring.

    Parameters
    ----------
    lines, points
        Equal-length sequences of shapely LineStrings and Points (metric CRS).
    bandwidth_m
        Kernel bandwidth ``h`` in metres.
    kernel
        ``"gaussian"``, ``"uniform"`` or ``"count"``.
    """
    geoms = np.asarray(lines, dtype=object)
    pts = np.asarray(points, dtype=object)
    _, values = _pair_values(
        _pieces(geoms), np.arange(geoms.size), shapely.get_x(pts), shapely.get_y(pts),
        [float(bandwidth_m)], kernel,
    )  # fmt: skip
    return values


_CHUNK_POINTS = 2000  # bounds memory: pairs of one chunk of incidents at a time


def _density(
    segments: _Segments,
    points: NDArray[np.object_],
    weights: NDArray[np.float64],
    bandwidths: Sequence[float],
    kernel: str,
) -> NDArray[np.float64]:
    """Σ weight_w · kernel per segment, shape (n_segments, n_weight_columns), averaged over h."""
    n_seg = segments.edge.size
    out = np.zeros((n_seg, weights.shape[1]))
    if points.size == 0:
        return out
    reach = KERNEL_REACH[kernel] * max(bandwidths)
    tree = shapely.STRtree(segments.geometry)
    pieces = _pieces(segments.geometry)
    px, py = shapely.get_x(points), shapely.get_y(points)
    for lo in range(0, points.size, _CHUNK_POINTS):
        hi = min(lo + _CHUNK_POINTS, points.size)
        boxes = shapely.box(
            px[lo:hi] - reach, py[lo:hi] - reach, px[lo:hi] + reach, py[lo:hi] + reach
        )
        point_idx, seg_idx = tree.query(boxes)  # envelope candidates; the kernel truncates
        point_idx = point_idx + lo
        seg_idx, value = _pair_values(
            pieces, seg_idx, px[point_idx], py[point_idx], bandwidths, kernel
        )
        for col in range(weights.shape[1]):
            out[:, col] += np.bincount(
                seg_idx, weights=value * weights[point_idx, col], minlength=n_seg
            )
    return out


def _snapped(
    segments: _Segments,
    street: NDArray[np.bool_],
    points: NDArray[np.object_],
    weights: NDArray[np.float64],
    snap_m: float,
) -> NDArray[np.float64]:
    """Σ weight per segment of the incidents whose nearest street (within snap_m) it is."""
    out = np.zeros((segments.edge.size, weights.shape[1]))
    ids = np.flatnonzero(street)
    if points.size == 0 or ids.size == 0:
        return out
    tree = shapely.STRtree(segments.geometry[ids])
    point_idx, nearest = tree.query_nearest(points, max_distance=snap_m, all_matches=False)
    for col in range(weights.shape[1]):
        out[:, col] = np.bincount(
            ids[nearest], weights=weights[point_idx, col], minlength=segments.edge.size
        )
    return out


# ------------------------------------------------------------------ surface
@dataclass(frozen=True, eq=False)
class RiskSurface:
    """Risk per edge and time window.

    Attributes
    ----------
    table
        Long table, one row per edge and window (window-major, edges in
        network order): ``edge_id``, ``window``, ``length_m``, ``risk``
        (weighted incidents per km per year plus hazards), ``risk_incidents``,
        ``risk_hazards`` (sum of hazard layers, weighted points per km) and one
        ``hazard_<layer>`` column per hazard layer (unweighted points per km).
    params
        The parameters used (windows, bandwidths, kernel, years, ...).
    """

    table: pd.DataFrame
    params: dict[str, Any]

    @property
    def windows(self) -> list[str]:
        """Window names, in order."""
        return list(dict.fromkeys(self.table["window"]))

    @property
    def n_edges(self) -> int:
        """Number of edges of the network the surface was scored on."""
        return int((self.table["window"] == self.windows[0]).sum())

    def _column(self, window: str, column: str) -> NDArray[np.float64]:
        if window not in self.windows:
            raise KeyError(f"window {window!r} is not in this surface; it has {self.windows}")
        i = self.windows.index(window)
        values = self.table[column].to_numpy(dtype=np.float64)
        return values[i * self.n_edges : (i + 1) * self.n_edges]

    def risk(self, window: str) -> NDArray[np.float64]:
        """Risk of each edge in ``window`` (aligned to ``network.edges`` rows)."""
        return self._column(window, "risk")

    def cost(
        self,
        window: str,
        *,
        weight: float,
        base: str | NDArray[np.float64] = "length",
    ) -> NDArray[np.float64]:
        """Risk-weighted cost per edge for ``WalkNetwork.shortest_paths(cost=...)``.

        ``cost = base · (1 + weight · r)`` with ``r = min(risk / R, 1)``, where
        ``R`` is the length-weighted 99th percentile of risk in the window (so
        r is in [0, 1]; 1 on the riskiest 1% of street length).  With
        ``weight = 1`` the riskiest streets count double their length.

        Parameters
        ----------
        window
            Window name.
        weight
            Risk aversion, >= 0 (0 gives the base cost).
        base
            ``"length"`` (metres) or an array of base costs per edge.
        """
        if weight < 0 or not np.isfinite(weight):
            raise DataError(f"weight must be finite and >= 0, got {weight}")
        if isinstance(base, str):
            if base != "length":
                raise DataError(f"base must be 'length' or an array per edge, got {base!r}")
            base_cost = self._column(window, "length_m")
        else:
            base_cost = np.asarray(base, dtype=np.float64)
            if base_cost.shape != (self.n_edges,):
                raise DataError(f"base has shape {base_cost.shape}; need ({self.n_edges},)")
        risk = self.risk(window)
        return np.asarray(
            base_cost * (1.0 + weight * _normalised(risk, self._column(window, "length_m")))
        )

    def to_geodataframe(self, network: WalkNetwork) -> gpd.GeoDataFrame:
        """Edges with one ``risk_<window>`` column per window.

        Columns: ``edge_id``, ``u``, ``v``, ``name``, ``highway``, ``length``,
        ``risk_<window>`` (weighted incidents per km per year), geometry (network CRS).
        """
        self._check_network(network)
        edges = network.edges
        wide = pd.DataFrame({"edge_id": np.arange(len(edges))})
        for column in ("u", "v", "name", "highway", "length"):
            wide[column] = edges[column].to_numpy()
        for window in self.windows:
            wide[f"risk_{window}"] = self.risk(window)
        return gpd.GeoDataFrame(wide, geometry=edges.geometry.values, crs=network.crs)

    def to_gpkg(self, network: WalkNetwork, path: str | Path, layer: str = "risk") -> Path:
        """Write :meth:`to_geodataframe` to a GeoPackage (temp file, then renamed into place)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(suffix=".gpkg", dir=target.parent)
        os.close(handle)
        os.unlink(temp)
        try:
            self.to_geodataframe(network).to_file(temp, layer=layer, driver="GPKG")
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return target

    def _check_network(self, network: WalkNetwork) -> None:
        if len(network.edges) != self.n_edges:
            raise DataError(
                f"the surface has {self.n_edges} edges but the network {len(network.edges)}; "
                "score the same network you export or route on"
            )

    @classmethod
    def from_values(
        cls,
        network: WalkNetwork,
        values: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
    ) -> RiskSurface:
        """A surface from given risk arrays per window (e.g. a baseline), no components."""
        n = len(network.edges)
        frames = []
        for window, array in values.items():
            risk = np.asarray(array, dtype=np.float64)
            if risk.shape != (n,):
                raise DataError(f"values[{window!r}] has shape {risk.shape}; need ({n},)")
            frames.append(_frame(window, network, risk, risk, np.zeros(n), {}))
        return cls(pd.concat(frames, ignore_index=True), dict(params or {}))


def _normalised(risk: NDArray[np.float64], length: NDArray[np.float64]) -> NDArray[np.float64]:
    order = np.argsort(risk)
    cum = np.cumsum(length[order])
    if cum.size == 0 or cum[-1] <= 0:
        return np.zeros_like(risk)
    scale = risk[order][min(np.searchsorted(cum, 0.99 * cum[-1]), risk.size - 1)]
    if scale <= 0:
        scale = risk.max()
    return np.clip(risk / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(risk)


def _frame(
    window: str,
    network: WalkNetwork,
    risk: NDArray[np.float64],
    incidents: NDArray[np.float64],
    hazards: NDArray[np.float64],
    layers: Mapping[str, NDArray[np.float64]],
) -> pd.DataFrame:
    n = len(network.edges)
    frame = pd.DataFrame(
        {
            "edge_id": np.arange(n, dtype=np.int64),
            "window": window,
            "length_m": network.edges["length"].to_numpy(dtype=np.float64),
            "risk": risk,
            "risk_incidents": incidents,
            "risk_hazards": hazards,
        }
    )
    for name, values in layers.items():
        frame[f"hazard_{name}"] = values
    return frame


def _span_years(incidents: Incidents) -> float:
    """Years from the first to the last incident day (year-only rows span their year)."""
    table = incidents.table
    if len(table) == 0:
        return 1.0
    days = table["occurred_at"].dt.tz_localize(None).dt.normalize()
    start_of_year = pd.to_datetime(table["year"].astype(str) + "-01-01", format="%Y-%m-%d")
    end_of_year = pd.to_datetime(table["year"].astype(str) + "-12-31", format="%Y-%m-%d")
    first = days.where(days.notna(), start_of_year).min()
    last = days.where(days.notna(), end_of_year).max()
    return float(((last - first).days + 1) / 365.25)


def _window_weights(
    incidents: Incidents, windows: Mapping[str, Window], recency: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Weight of each incident in each window (columns in window order)."""
    timed = {k: w for k, w in windows.items() if w is not None}
    masks = in_window(incidents, timed) if timed else pd.DataFrame(index=incidents.table.index)
    base = incidents.table["weight"].to_numpy(dtype=np.float64) * recency
    columns = [
        base if spec is None else base * masks[name].to_numpy(dtype=np.float64)
        for name, spec in windows.items()
    ]
    return np.column_stack(columns) if columns else np.zeros((len(base), 0))


def _hazard_density(
    network: WalkNetwork,
    segments: _Segments,
    hazards: Mapping[str, tuple[gpd.GeoDataFrame, float]],
    bandwidths: Sequence[float],
    kernel: str,
    per_km: NDArray[np.float64],
) -> dict[str, tuple[NDArray[np.float64], float]]:
    out = {}
    for name, (layer, weight) in hazards.items():
        if layer.crs is None:
            raise CRSError(f"hazard layer {name!r} has no CRS; set one (EPSG:4326 for lon/lat)")
        geoms = layer.to_crs(network.crs).geometry
        points = np.asarray(geoms.representative_point().values)
        density = _density(segments, points, np.ones((points.size, 1)), bandwidths, kernel)
        out[name] = (density[:, 0][segments.of_edge] / per_km, float(weight))
    return out


def score(
    network: WalkNetwork,
    incidents: Incidents,
    windows: Mapping[str, Window] | None = None,
    *,
    bandwidth_m: float | Sequence[float] = 150.0,
    kernel: str = "gaussian",
    half_life_days: float | None = None,
    reference_date: Any = None,
    hazards: Mapping[str, tuple[gpd.GeoDataFrame, float]] | None = None,
    years: float | None = None,
    snap_share: float = 0.0,
    snap_m: float = 50.0,
) -> RiskSurface:
    """Risk per edge per window as a kernel density of weighted incidents.

    Parameters
    ----------
    network
        The walk network (its CRS must be the incidents' CRS).
    incidents
        From :func:`~safepassage.risk.incidents.read_incidents`, usually after
        :func:`~safepassage.risk.incidents.filter_school_days`.
    windows
        Window name -> (``"HH:MM"``, ``"HH:MM"``) local time, or None for the
        whole day (incidents without a time count only there).  Default: one
        whole-day window ``"all"``.
    bandwidth_m
        Kernel bandwidth ``h`` in metres, or several (their kernels averaged:
        multi-scale).
    kernel
        ``"gaussian"`` (truncated at 3 h), ``"uniform"`` or ``"count"``; see the
        module docstring.
    half_life_days, reference_date
        Recency weighting ``0.5 ** (age / half_life_days)``, age in days before
        ``reference_date`` (default: the latest incident).  None: no decay.
    hazards
        Layer name -> (point GeoDataFrame with a CRS, weight per point per km).
    years
        Years the incidents cover, for the per-year rate; inferred from their
        dates when None.
    snap_share, snap_m
        Share of each incident's weight put wholly on its nearest street
        (not an alley, service road or footway; within ``snap_m`` metres);
        the rest is spread by the kernel.  Police geocode incidents to block
        addresses, so the street an incident is recorded on predicts where
        later ones are recorded: 0.7 with a 150 m Gaussian raised the
        citywide PAI at 5% from 4.3 to 5.0 (see ``bench/risk.py``).

    Returns
    -------
    RiskSurface
        See :class:`RiskSurface` for the table's columns.
    """
    if kernel not in KERNELS:
        raise DataError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    bandwidths = [float(b) for b in np.atleast_1d(np.asarray(bandwidth_m, dtype=np.float64))]
    if not bandwidths or min(bandwidths) <= 0:
        raise DataError(f"bandwidth_m must be positive metres, got {bandwidth_m}")
    if not incidents.crs.equals(network.crs):
        raise CRSError(
            f"incidents are in {incidents.crs.name} but the network in {network.crs.name}; "
            "read the incidents with network=... or crs=network.crs"
        )
    windows = {"all": None} if windows is None else dict(windows)
    span = _span_years(incidents) if years is None else float(years)
    if span <= 0:
        raise DataError(f"years must be positive, got {years}")
    recency = np.ones(len(incidents))
    if half_life_days is not None:
        if reference_date is None:
            reference_date = incidents.table["occurred_at"].max()
        recency = recency_weights(incidents, reference_date, half_life_days)

    segments = _segments(network)
    per_km = np.maximum(network.edges["length"].to_numpy(dtype=np.float64), 1.0) / 1000.0
    weights = _window_weights(incidents, windows, recency)
    points = np.asarray(incidents.table.geometry.values)
    density = _density(segments, points, weights, bandwidths, kernel)
    if snap_share:
        if not 0.0 <= snap_share <= 1.0:
            raise DataError(f"snap_share must be within 0..1, got {snap_share}")
        street = ~network.edges["highway"].isin(list(NON_STREET_HIGHWAYS)).to_numpy()
        snapped = _snapped(segments, street[segments.edge], points, weights, snap_m)
        density = snap_share * snapped + (1.0 - snap_share) * density
    layers = _hazard_density(network, segments, hazards or {}, bandwidths, kernel, per_km)
    hazard_total = sum((w * d for d, w in layers.values()), np.zeros(len(per_km)))
    frames = []
    for col, window in enumerate(windows):
        from_incidents = density[:, col][segments.of_edge] / per_km / span
        frames.append(
            _frame(
                window, network, from_incidents + hazard_total, from_incidents, hazard_total,
                {name: d for name, (d, _) in layers.items()},
            )
        )  # fmt: skip
    params = {
        "windows": windows, "bandwidth_m": bandwidths, "kernel": kernel, "years": span,
        "half_life_days": half_life_days, "reference_date": str(reference_date),
        "hazards": {name: w for name, (_, w) in layers.items()}, "incidents": len(incidents),
        "snap_share": snap_share, "snap_m": snap_m,
        "units": "weighted incidents per km per year",
    }  # fmt: skip
    return RiskSurface(pd.concat(frames, ignore_index=True), params)


# ----------------------------------------------------------------- evaluate
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
    surface._check_network(network)
    segments = _segments(network)
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
                "window": window or "all", "top": float(share), "length_share": length_share,
                "flagged_km": float(seg_length[flagged].sum() / 1000.0),
                "incidents_total": len(later), "incidents": int(nearest.size), "hits": hits,
                "hit_rate": hit_rate, "pai": hit_rate / length_share if length_share else np.nan,
            }
        )  # fmt: skip
    return pd.DataFrame(rows)
