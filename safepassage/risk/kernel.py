"""Kernel sums of points onto street segments, vectorised (see :mod:`.surface`).

Street segments are the undirected edges of the walk network, split into
straight pieces; an STRtree gives candidate (point, segment) pairs and numpy
computes the kernel per piece and sums it per segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.special import ndtr

from ..routes.network import WalkNetwork

__all__ = ["KERNELS", "KERNEL_REACH", "segment_kernel"]


KERNELS = ("gaussian", "uniform", "count")
KERNEL_REACH = {"gaussian": 3.0, "uniform": 1.0, "count": 1.0}  # truncation, in bandwidths


# ----------------------------------------------------------------- segments
@dataclass(frozen=True)
class Segments:
    """Undirected street segments: each two-way street once."""

    of_edge: NDArray[np.int64]  # segment index of each edge
    edge: NDArray[np.int64]  # representative edge id of each segment
    geometry: NDArray[np.object_]
    length_m: NDArray[np.float64]  # edges["length"] of the representative edge


def street_segments(network: WalkNetwork) -> Segments:
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
    return Segments(
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
        _pieces(geoms),
        np.arange(geoms.size),
        shapely.get_x(pts),
        shapely.get_y(pts),
        [float(bandwidth_m)],
        kernel,
    )
    return values


_CHUNK_POINTS = 2000  # bounds memory: pairs of one chunk of incidents at a time


def kernel_density(
    segments: Segments,
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


def snapped_density(
    segments: Segments,
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
