"""Per-school routing gives the same routes serially, in processes and on Dask."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from safepassage.config import RoutesConfig
from safepassage.executor import ProcessExecutor, SerialExecutor, make_executor
from safepassage.pipeline import route_all_schools
from safepassage.routes.network import WalkNetwork
from safepassage.routes.origins import aggregate_origins, allocate_students, node_population


def _square(shared: int, item: int) -> int:
    return shared + item * item


def test_process_executor_keeps_input_order() -> None:
    assert ProcessExecutor(2).map(_square, 100, [3, 1, 2]) == [109, 101, 104]
    assert SerialExecutor().map(_square, 100, [3, 1, 2]) == [109, 101, 104]


def test_make_executor_picks_by_arguments() -> None:
    assert isinstance(make_executor(1), SerialExecutor)
    assert isinstance(make_executor(3), ProcessExecutor)


@pytest.fixture(scope="module")
def englewood_demand(
    englewood: WalkNetwork, data_root: Path
) -> tuple[WalkNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    schools = gpd.read_file(f"/vsigzip/{data_root}/schools/CPS_School_Locations_SY1617.geojson.gz")
    schools = schools[schools["commarea"] == "ENGLEWOOD"].head(6).copy()
    schools["school_id"] = schools["school_id"].astype(str)
    schools["node"] = englewood.snap(schools, max_m=150).nodes
    grid = gpd.read_file(f"/vsigzip/{data_root}/census/population_grid_englewood.geojson.gz")
    demand = allocate_students(englewood, schools, node_population(englewood, grid))
    return englewood, schools, aggregate_origins(englewood, demand)


def _routes(executor: object, demand: tuple) -> pd.DataFrame:  # type: ignore[type-arg]
    network, schools, origins = demand
    risk = {"am": network.edges["length"].to_numpy() % 7.0}
    routes = route_all_schools(executor, network, schools, origins, risk, RoutesConfig())  # type: ignore[arg-type]
    return pd.DataFrame(routes.routes.drop(columns="geometry"))


def test_processes_give_the_serial_routes(englewood_demand: tuple) -> None:  # type: ignore[type-arg]
    serial = _routes(SerialExecutor(), englewood_demand)
    assert len(serial) > 0
    pd.testing.assert_frame_equal(serial, _routes(ProcessExecutor(2), englewood_demand))


def test_dask_cluster_gives_the_serial_routes(englewood_demand: tuple) -> None:  # type: ignore[type-arg]
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask's own start-up notices
        with distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            executor = make_executor(scheduler=cluster.scheduler_address)
            try:
                on_dask = _routes(executor, englewood_demand)
            finally:
                executor.close()
    pd.testing.assert_frame_equal(_routes(SerialExecutor(), englewood_demand), on_dask)
