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
lots) add ``layer weight · Σ k / km`` in every window.  With ``snap_share``
part of each incident's weight sits on its nearest street instead; the two
terms mix linearly or, with ``blend="geometric"``, as a weighted geometric
mean of rates (see :func:`score`).

Everything is vectorised: an STRtree query of boxes around chunks of
incidents gives candidate (incident, segment) pairs, numpy computes the kernel
per straight piece, and ``numpy.bincount`` sums per segment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..atomic import atomic_file
from ..errors import CRSError, DataError
from ..routes.network import WalkNetwork
from ..streets import NON_STREET_HIGHWAYS
from .incidents import Incidents, in_window, recency_weights, undated
from .kernel import (
    KERNELS,
    Segments,
    kernel_density,
    snapped_density,
    street_segments,
)

__all__ = ["RiskModel", "RiskSurface", "score"]

Window = tuple[str, str] | None
BLENDS = ("linear", "geometric")


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

    @cached_property
    def windows(self) -> list[str]:
        """Window names, in order."""
        return [str(w) for w in pd.unique(self.table["window"])]

    @cached_property
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
        self.check_network(network)
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
        with atomic_file(target) as part:
            self.to_geodataframe(network).to_file(part, layer=layer, driver="GPKG")
        return target

    def check_network(self, network: WalkNetwork) -> None:
        """Raise DataError unless ``network`` is the network this surface was scored on."""
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
    """Years from the first to the last incident day (year-only rows span their year;
    undated rows have no span: a table of them only reads as one year)."""
    table = incidents.table[~undated(incidents)]
    if len(table) == 0:
        return 1.0  # undated incidents: read as a year's
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
    segments: Segments,
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
        density = kernel_density(segments, points, np.ones((points.size, 1)), bandwidths, kernel)
        out[name] = (density[:, 0][segments.of_edge] / per_km, float(weight))
    return out


def _checked_bandwidths(
    network: WalkNetwork, incidents: Incidents, bandwidth_m: float | Sequence[float], kernel: str
) -> list[float]:
    """The bandwidths as a list of metres, after checking the kernel, bandwidths and CRS."""
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
    return bandwidths


def _incident_density(
    network: WalkNetwork,
    segments: Segments,
    incidents: Incidents,
    weights: NDArray[np.float64],
    bandwidths: Sequence[float],
    model: RiskModel,
    span: float,
) -> NDArray[np.float64]:
    """Weighted incidents per segment and window: kernel spread, ``snap_share`` snapped.

    The geometric blend mixes the two terms as rates (per km per ``span`` years).
    """
    points = np.asarray(incidents.table.geometry.values)
    density = kernel_density(segments, points, weights, bandwidths, model.kernel)
    snap_share, snap_m = model.snap_share, model.snap_m
    if snap_share:
        if not 0.0 <= snap_share <= 1.0:
            raise DataError(f"snap_share must be within 0..1, got {snap_share}")
        street = ~network.edges["highway"].isin(list(NON_STREET_HIGHWAYS)).to_numpy()
        snapped = snapped_density(segments, street[segments.edge], points, weights, snap_m)
        floor_share = model.blend_floor
        if model.blend == "geometric":
            scale = (np.maximum(segments.length_m, 1.0) / 1000.0 * span)[:, None]
            floor = floor_share * density.sum(axis=0) / scale.sum()  # per window
            rate = (snapped / scale + floor) ** snap_share * (density / scale + floor) ** (
                1.0 - snap_share
            ) - floor
            return np.asarray(np.maximum(rate, 0.0) * scale)
        density = snap_share * snapped + (1.0 - snap_share) * density
    return density


def _checked_blend(blend: str, blend_floor: float) -> None:
    if blend not in BLENDS:
        raise DataError(f"blend must be one of {BLENDS}, got {blend!r}")
    if blend == "geometric" and not (np.isfinite(blend_floor) and blend_floor > 0):
        raise DataError(
            f"blend_floor must be a positive share of the mean kernel rate, got {blend_floor}"
        )


@dataclass(frozen=True)
class RiskModel:
    """How incidents become risk: the kernel, its bandwidth, recency, snapping and blend.

    Attributes
    ----------
    bandwidth_m
        Kernel bandwidth ``h`` in metres, or several (their kernels averaged:
        multi-scale).
    kernel
        ``"gaussian"`` (truncated at 3 h), ``"uniform"`` or ``"count"``; see the
        module docstring.
    half_life_days, reference_date
        Recency weighting ``0.5 ** (age / half_life_days)``, age in days before
        ``reference_date`` (default: the latest incident).  None: no decay.
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
    blend, blend_floor
        How the snapped and kernel terms mix.  ``"linear"``: ``s · snapped +
        (1 - s) · kernel`` with ``s = snap_share``.  ``"geometric"``: a
        weighted geometric mean of the two rates ``r_snap`` and ``r_kernel``
        (weighted incidents per km per year),
        ``(r_snap + f)^s · (r_kernel + f)^(1 - s) - f``, where the floor ``f``
        is ``blend_floor`` (dimensionless) times the window's mean kernel rate
        over the network's length; it keeps streets without a snapped incident
        above 0 (streets with neither term stay at 0).  The snapped street then
        scales the area's kernel rate instead of adding to it.  With
        ``snap_share=0.2`` and ``blend_floor=0.05``, chosen on fit Jan-Apr ->
        test May-Jun 2016, the held-out citywide PAI at 5% (Jul-Dec 2016) rose
        from 5.17 (linear, 0.7) to about 5.3 (see ``bench/risk.py``).
        ``blend_floor`` is ignored by ``"linear"``.
    """

    bandwidth_m: float | Sequence[float] = 150.0
    kernel: str = "gaussian"
    half_life_days: float | None = None
    reference_date: Any = None
    years: float | None = None
    snap_share: float = 0.0
    snap_m: float = 50.0
    blend: str = "linear"
    blend_floor: float = 0.05


def score(
    network: WalkNetwork,
    incidents: Incidents,
    windows: Mapping[str, Window] | None = None,
    *,
    model: RiskModel = RiskModel(),
    hazards: Mapping[str, tuple[gpd.GeoDataFrame, float]] | None = None,
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
    model
        The kernel and its options (:class:`RiskModel`).
    hazards
        Layer name -> (point GeoDataFrame with a CRS, weight per point per km).

    Returns
    -------
    RiskSurface
        See :class:`RiskSurface` for the table's columns.
    """
    m = model
    bandwidths = _checked_bandwidths(network, incidents, m.bandwidth_m, m.kernel)
    _checked_blend(m.blend, m.blend_floor)
    windows = {"all": None} if windows is None else dict(windows)
    span = _span_years(incidents) if m.years is None else float(m.years)
    if span <= 0:
        raise DataError(f"years must be positive, got {m.years}")
    recency, reference_date = np.ones(len(incidents)), m.reference_date
    if m.half_life_days is not None:
        if reference_date is None:
            reference_date = incidents.table["occurred_at"].max()
        recency = recency_weights(incidents, reference_date, m.half_life_days)

    segments = street_segments(network)
    per_km = np.maximum(network.edges["length"].to_numpy(dtype=np.float64), 1.0) / 1000.0
    weights = _window_weights(incidents, windows, recency)
    density = _incident_density(network, segments, incidents, weights, bandwidths, m, span)
    layers = _hazard_density(network, segments, hazards or {}, bandwidths, m.kernel, per_km)
    hazard_total = sum((w * d for d, w in layers.values()), np.zeros(len(per_km)))
    frames = []
    for col, window in enumerate(windows):
        from_incidents = density[:, col][segments.of_edge] / per_km / span
        frames.append(
            _frame(
                window,
                network,
                from_incidents + hazard_total,
                from_incidents,
                hazard_total,
                {name: d for name, (d, _) in layers.items()},
            )
        )
    params = {
        "windows": windows,
        "bandwidth_m": bandwidths,
        "kernel": m.kernel,
        "years": span,
        "half_life_days": m.half_life_days,
        "reference_date": str(reference_date),
        "hazards": {name: w for name, (_, w) in layers.items()},
        "incidents": len(incidents),
        "snap_share": m.snap_share,
        "snap_m": m.snap_m,
        "blend": m.blend,
        "blend_floor": m.blend_floor,
        "units": "weighted incidents per km per year",
    }
    return RiskSurface(pd.concat(frames, ignore_index=True), params)
