"""The compiled Dijkstra behind ``WalkNetwork.shortest_paths``, checked against scipy."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from safepassage.errors import DataError, NoRouteError
from safepassage.routes import dijkstra as kernel
from safepassage.routes.network import WalkNetwork
from safepassage.routes.pathset import PathSet


def scipy_distances(
    net: WalkNetwork,
    cost: NDArray[np.float64] | None,
    sources: list[int],
    reverse: bool,
    limit: float,
) -> NDArray[np.float64]:
    matrix = net.prepare_cost(cost).matrix
    if reverse:
        matrix = matrix.T.tocsr()
    return np.atleast_2d(dijkstra(matrix, directed=True, indices=sources, limit=limit))


def check_paths(
    net: WalkNetwork,
    paths: PathSet,
    cost: NDArray[np.float64],
    source: int,
    targets: NDArray[np.int64],
) -> None:
    """Every path chains edge to edge between its ends, in walking order, and costs its distance."""
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    row = paths._row(source)
    columns = paths._columns(targets)
    for target, column, edge_ids in zip(
        targets, columns, paths.edge_paths(source, targets), strict=True
    ):
        start, end = (target, source) if paths.reverse else (source, target)
        if start == end:
            assert edge_ids.size == 0
            continue
        assert u[edge_ids[0]] == start
        assert v[edge_ids[-1]] == end
        assert np.array_equal(v[edge_ids[:-1]], u[edge_ids[1:]])
        assert cost[edge_ids].sum() == pytest.approx(paths.distances[row, column], abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    reverse=st.booleans(),
    limit=st.one_of(st.just(np.inf), st.floats(0.0, 900.0)),
)
def test_distances_and_paths_match_scipy_on_random_costs(
    grid: WalkNetwork, seed: int, reverse: bool, limit: float
) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1.0, 300.0, len(grid.edges))
    sources = rng.choice(25, size=3, replace=False).tolist()
    targets = rng.choice(25, size=8)  # duplicates on purpose
    paths = grid.shortest_paths(sources, targets, cost=cost, limit_m=limit, reverse=reverse)
    expected = scipy_distances(grid, cost, sources, reverse, limit)
    np.testing.assert_allclose(paths.distances, expected[:, targets], rtol=0, atol=1e-9)
    dense = grid.shortest_paths(sources, cost=cost, limit_m=limit, reverse=reverse)
    np.testing.assert_allclose(dense.distances, expected, rtol=0, atol=1e-9)
    for row, source in enumerate(sources):
        reached = targets[np.isfinite(paths.distances[row])]
        check_paths(grid, paths, cost, source, reached)


def test_englewood_routes_match_scipy(englewood: WalkNetwork) -> None:
    rng = np.random.default_rng(7)
    cost = englewood.edges["length"].to_numpy() * rng.uniform(1.0, 3.0, len(englewood.edges))
    sources = rng.choice(len(englewood.nodes), size=10, replace=False).tolist()
    targets = rng.choice(len(englewood.nodes), size=200, replace=False)
    paths = englewood.shortest_paths(sources, targets, cost=cost, limit_m=4000.0, reverse=True)
    expected = scipy_distances(englewood, cost, sources, True, 4000.0)[:, targets]
    np.testing.assert_allclose(paths.distances, expected, rtol=0, atol=1e-6)
    assert np.isfinite(expected).sum() > 500  # the limit leaves many pairs to check
    for row, source in enumerate(sources):
        check_paths(englewood, paths, cost, source, targets[np.isfinite(expected[row])])


def test_source_as_its_own_target_has_an_empty_path(grid: WalkNetwork) -> None:
    paths = grid.shortest_paths([12], targets=[12, 13])
    assert paths.distances[0, 0] == 0.0
    assert paths.edge_path(12, 12) == []
    assert paths.node_path(12, 12) == [12]


def test_the_source_has_an_empty_path_even_when_not_a_target(grid: WalkNetwork) -> None:
    assert grid.shortest_paths([12], targets=[13]).edge_path(12, 12) == []
    assert grid.shortest_paths([12], targets=[]).edge_paths(12, [12])[0].size == 0


def test_a_target_of_an_empty_target_list_has_no_route(grid: WalkNetwork) -> None:
    with pytest.raises(NoRouteError, match="pass this node as a target"):
        grid.shortest_paths([0], targets=[]).edge_paths(0, [3])


@pytest.mark.parametrize("targets", [None, [5]])
def test_paths_to_node_ids_out_of_range_are_refused(
    grid: WalkNetwork, targets: list[int] | None
) -> None:
    paths = grid.shortest_paths([0], targets=targets)
    for bad in (-1, 25):
        with pytest.raises(DataError, match=r"outside 0\.\.24"):
            paths.edge_paths(0, [bad])


def test_zero_or_nan_weights_are_refused_before_the_kernel_sees_them() -> None:
    matrix = csr_matrix(([5.0, 0.0, 0.0], [1, 2, 1], [0, 2, 2, 3]), shape=(3, 3))
    with pytest.raises(DataError, match="2 edge costs are zero"):
        kernel.SearchGraph.from_csr(matrix, np.arange(3))
    matrix.data[:] = [5.0, np.nan, 1.0]
    with pytest.raises(DataError, match="1 edge costs"):
        kernel.SearchGraph.from_csr(matrix, np.arange(3))


def test_node_beyond_the_settled_targets_names_the_fix(grid: WalkNetwork) -> None:
    paths = grid.shortest_paths([0], targets=[1])  # the search stops at node 1
    with pytest.raises(NoRouteError, match="pass this node as a target"):
        paths.edge_path(0, 24)


@pytest.mark.parametrize("limit_m", [-1.0, float("nan")])
def test_a_negative_or_missing_limit_is_refused(grid: WalkNetwork, limit_m: float) -> None:
    with pytest.raises(DataError, match="limit_m must be a non-negative"):
        grid.shortest_paths([0], targets=[24], limit_m=limit_m)


def test_paths_false_holds_no_paths(grid: WalkNetwork) -> None:
    paths = grid.shortest_paths([0], targets=[24], paths=False)
    assert paths.distances[0, 0] == pytest.approx(800.0)
    with pytest.raises(ValueError, match="paths=False"):
        paths.edge_path(0, 24)


def test_search_with_targets_keeps_no_whole_trees(grid: WalkNetwork) -> None:
    with pytest.raises(ValueError, match="search without targets"):
        _ = grid.shortest_paths([0], targets=[24]).predecessors


def test_paths_to_any_node_of_a_search_without_targets(grid: WalkNetwork) -> None:
    paths = grid.shortest_paths([0], reverse=True)
    found = paths.edge_paths(0, [24, 6, 0])
    assert [len(edge_ids) for edge_ids in found] == [8, 2, 0]
    assert paths.node_path(0, 6)[0] == 6  # reversed: walking from node 6 to node 0


def test_spatial_order_keeps_neighbours_close() -> None:
    x, y = np.meshgrid(np.arange(64.0), np.arange(64.0))
    order = kernel.spatial_order(x.ravel(), y.ravel())
    assert np.array_equal(np.sort(order), np.arange(64 * 64))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    ids = np.arange(64 * 64).reshape(64, 64)
    tails = np.concatenate([ids[:, :-1].ravel(), ids[:-1].ravel()])
    heads = np.concatenate([ids[:, 1:].ravel(), ids[1:].ravel()])
    close = np.abs(rank[tails] - rank[heads]) < 8  # 8 float64 values share a cache line
    assert close.mean() > 0.7  # row by row numbering: 0.5 (vertical neighbours are 64 apart)


def test_predecessors_follow_scipy_convention(grid: WalkNetwork) -> None:
    paths = grid.shortest_paths([0], limit_m=250.0)
    pred = paths.predecessors[0]
    reached = np.isfinite(paths.distances[0])
    assert pred[0] == -9999
    assert np.all(pred[~reached] == -9999)
    length = grid.edges["length"].to_numpy()
    for node in np.flatnonzero(reached & (np.arange(25) != 0)):
        edge = grid.edges_between([pred[node]], [node])[0]
        assert paths.distances[0, pred[node]] + length[edge] == pytest.approx(
            paths.distances[0, node]
        )


def test_work_space_is_idle_after_each_search(grid: WalkNetwork) -> None:
    grid.shortest_paths([0, 5], targets=[24, 24, 3], limit_m=300.0)
    grid.shortest_paths([7], limit_m=np.inf)
    dist, _pred, is_target, *_ = kernel._WORKSPACE.arrays
    assert np.all(np.isinf(dist))
    assert not np.any(is_target)


def test_threads_get_their_own_work_space(englewood: WalkNetwork) -> None:
    rng = np.random.default_rng(3)
    jobs = [rng.choice(len(englewood.nodes), size=30, replace=False) for _ in range(8)]
    serial = [englewood.shortest_paths(job[:3], targets=job[3:]).distances for job in jobs]
    results: dict[int, NDArray[np.float64]] = {}

    def run(i: int) -> None:
        for _ in range(5):
            results[i] = englewood.shortest_paths(jobs[i][:3], targets=jobs[i][3:]).distances

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, expected in enumerate(serial):
        np.testing.assert_array_equal(results[i], expected)
