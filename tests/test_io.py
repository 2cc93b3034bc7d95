"""Readers of the program's input tables and the atomic writers."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from safepassage.errors import CRSError, DataError, MissingColumnError
from safepassage.io import (
    community_area_schools,
    read_routes,
    read_schools,
    read_table,
    read_vendors,
    read_workers,
    write_csv,
    write_gpkg_layers,
    write_json,
)
from safepassage.report import PACKAGES, partner_csv, runtime_dependencies, write_manifest
from safepassage.staffing.roster import ASSIGNMENT_COLUMNS

UTM16 = 26916
SCHOOL_COLUMNS = [
    "school_id",
    "name",
    "grades",
    "grade_band",
    "enrollment",
    "school_hours",
    "community_area",
    "geometry",
]


@pytest.fixture(scope="module")
def sy1617(data_root: Path) -> gpd.GeoDataFrame:
    return read_schools(
        data_root / "schools" / "CPS_School_Locations_SY1617.geojson.gz",
        profiles=data_root / "schools" / "CPS_School_Profile_SY1617.csv.gz",
        crs=UTM16,
    )


# ----------------------------------------------------------------------------- schools


def test_read_schools_sy1617_has_670_schools_in_the_plan_crs(sy1617: gpd.GeoDataFrame) -> None:
    assert len(sy1617) == 670
    assert list(sy1617.columns) == SCHOOL_COLUMNS
    assert sy1617.crs.to_epsg() == UTM16
    assert sy1617["school_id"].map(type).eq(str).all()


def test_read_schools_joins_enrollment_and_hours_from_the_profile(
    sy1617: gpd.GeoDataFrame,
) -> None:
    bass = sy1617.set_index("school_id").loc["609791"]
    assert bass["name"] == "BASS"
    assert bass["enrollment"] == 439
    assert bass["school_hours"] == "08:00 AM-03:00 PM"
    assert bass["grade_band"] == "elementary"
    assert bass["community_area"] == "ENGLEWOOD"


def test_grade_band_is_both_for_grades_7_to_12(sy1617: gpd.GeoDataFrame) -> None:
    lindblom = sy1617.set_index("school_id").loc["610391"]
    assert lindblom["grades"] == "7, 8, 9, 10, 11, 12"
    assert lindblom["grade_band"] == "both"


def test_read_schools_reads_the_sy1516_csv_variant(data_root: Path) -> None:
    schools = read_schools(data_root / "schools" / "CPS_School_Locations_SY1516.csv.gz", crs=UTM16)
    assert len(schools) == 679
    assert schools["enrollment"].isna().all()
    assert schools["school_hours"].eq("").all()


def test_read_schools_reads_x_y_lon_lat_csv(tmp_path: Path) -> None:
    path = tmp_path / "sy1415.csv"
    path.write_text(
        "SCHOOL_ID,SCHOOL_NM,GRADE_CAT,GRADES,X,Y\n"
        '609791,BASS,ES,"K, 1, 2",-87.6455,41.7733\n'
        '609707,ROBESON HS,HS,"9, 10",-87.6380,41.7788\n'
    )
    schools = read_schools(path, crs=UTM16)
    assert schools["school_id"].tolist() == ["609791", "609707"]
    assert schools["grade_band"].tolist() == ["elementary", "high"]
    assert schools.geometry.x.between(440_000, 460_000).all()  # UTM 16N metres, not degrees


def test_read_schools_detects_swapped_lat_lon(tmp_path: Path) -> None:
    path = tmp_path / "swapped.csv"
    path.write_text("School_ID,Short_Name,Lat,Long\n609791,BASS,-87.6455,41.7733\n")
    with pytest.raises(CRSError, match="swapped"):
        read_schools(path, crs=UTM16)


def test_read_schools_missing_columns_names_file_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "schools.csv"
    path.write_text("CODE,TITLE,X,Y\n1,A,-87.6,41.7\n")
    with pytest.raises(MissingColumnError) as info:
        read_schools(path, crs=UTM16)
    message = str(info.value)
    assert "schools.csv" in message
    assert "school_id or schoolid" in message
    assert "short_name" not in message  # a name is optional: it defaults to the id


def test_read_schools_rejects_a_geographic_plan_crs(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("School_ID,Short_Name,Lat,Long\n609791,BASS,41.77,-87.64\n")
    with pytest.raises(CRSError, match="geographic"):
        read_schools(path, crs=4326)


def test_community_area_schools_uses_the_polygons(
    sy1617: gpd.GeoDataFrame, data_root: Path
) -> None:
    areas = data_root / "boundaries" / "community_areas.geojson.gz"
    inside = community_area_schools(sy1617, areas, ["Englewood", "west englewood"])
    assert set(inside["community_area"]) == {"ENGLEWOOD", "WEST ENGLEWOOD"}
    assert {"609791", "609711"} <= set(inside["school_id"])
    with pytest.raises(DataError, match="no community area named"):
        community_area_schools(sy1617, areas, ["Atlantis"])


# ----------------------------------------------------------------------------- routes


def test_read_routes_sy1617_lines(data_root: Path) -> None:
    routes = read_routes(
        data_root / "safe_passage" / "safe_passage_routes_SY1617.geojson.gz", crs=UTM16
    )
    assert list(routes.columns) == ["school_id", "route_id", "school_name", "kind", "geometry"]
    assert len(routes) == 109
    assert set(routes["kind"]) == {"line"}
    bass = routes[routes["school_id"] == "609791"].iloc[0]
    assert (bass["route_id"], bass["school_name"]) == ("26", "Bass")


def test_read_routes_sy1415_buffers_are_flagged(data_root: Path) -> None:
    routes = read_routes(
        data_root / "safe_passage" / "safe_passage_buffers660ft_SY1415.geojson.gz", crs=UTM16
    )
    assert len(routes) == 54
    assert set(routes["kind"]) == {"buffer"}
    assert routes["school_id"].str.fullmatch(r"\d{6}").all()


def test_read_routes_sy1516_float_route_numbers_become_text(data_root: Path) -> None:
    routes = read_routes(
        data_root / "safe_passage" / "safe_passage_routes_SY1516.geojson.gz", crs=UTM16
    )
    assert not routes["route_id"].str.contains(".", regex=False).any()


def test_read_routes_without_school_id_column_is_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "routes.geojson"
    gpd.GeoDataFrame(
        {"rt": ["1"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326
    ).to_file(path)
    with pytest.raises(MissingColumnError, match=r"routes\.geojson.*schoolid or school_id"):
        read_routes(path, crs=UTM16)


# ----------------------------------------------------------------------------- vendors, workers


def test_read_vendors_splits_school_ids() -> None:
    vendors = read_vendors(Path(__file__).parent.parent / "data" / "examples" / "vendors.csv")
    assert vendors["vendor_id"].tolist() == ["V-ENG", "V-WEN"]
    assert vendors["school_ids"].map(len).tolist() == [8, 7]
    assert "609791" in vendors["school_ids"][0]


def test_read_workers_parses_lists_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "workers.csv"
    path.write_text(
        "worker_id,vendor_id,weekdays,windows,max_minutes_day\n"
        "W1,V1,Mon;Wed,am,150\nW2,V1,,am;pm,\n"
    )
    workers = read_workers(path)
    assert workers["weekdays"].tolist() == [["Mon", "Wed"], None]
    assert workers["windows"].tolist() == [["am"], ["am", "pm"]]
    assert workers["max_minutes_day"].iloc[0] == 150
    assert np.isnan(workers["max_minutes_day"].iloc[1])


def test_read_workers_missing_column_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text("worker_id,name\nW1,Ann\n")
    with pytest.raises(MissingColumnError, match=r"staff\.csv is missing column\(s\) 'vendor_id'"):
        read_workers(path)


def test_read_workers_non_numeric_limit_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("worker_id,vendor_id,max_days_week\nW1,V1,5\nW2,V1,five\n")
    with pytest.raises(DataError, match=r"w.csv: line 3, column 'max_days_week'"):
        read_workers(path)


def test_read_table_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------- writers


# atomic_output_dir and the output folder rules: tests/test_output_folder.py


def test_write_csv_joins_list_cells(tmp_path: Path) -> None:
    table = pd.DataFrame({"post_id": ["P1"], "school_ids": [["609791", "610290"]]})
    path = write_csv(table, tmp_path / "posts.csv")
    assert path.read_text().splitlines() == ["post_id,school_ids", "P1,609791;610290"]


def test_write_gpkg_layers_round_trips(tmp_path: Path) -> None:
    posts = gpd.GeoDataFrame(
        {"post_id": ["P1", "P2"], "route_ids": [["R1"], ["R1", "R2"]]},
        geometry=[shapely.Point(446000, 4625000), shapely.Point(446100, 4625000)],
        crs=UTM16,
    )
    path = write_gpkg_layers(tmp_path / "plan.gpkg", {"posts": posts, "more": posts.head(1)})
    back = gpd.read_file(path, layer="posts")
    assert back["route_ids"].tolist() == ["R1", "R1;R2"]
    assert back.crs.to_epsg() == UTM16
    assert len(gpd.read_file(path, layer="more")) == 1


def test_write_json_handles_numpy_and_paths(tmp_path: Path) -> None:
    path = write_json(
        {"n": np.int64(3), "x": np.float32(0.5), "p": Path("/a")}, tmp_path / "m.json"
    )
    assert path.read_text() == '{\n  "n": 3,\n  "x": 0.5,\n  "p": "/a"\n}\n'


# ----------------------------------------------------------------------------- report
# (tests of safepassage.report; they belong in tests/test_report.py once that file is assigned)


def test_manifest_records_input_hashes_versions_and_seed(tmp_path: Path) -> None:
    source = tmp_path / "input.csv"
    source.write_bytes(b"a,b\n1,2\n")
    path = write_manifest(
        tmp_path / "manifest.json",
        config={"plan": {"name": "t"}},
        inputs=[source],
        seed=7,
        stage_timings={"network": 1.23456},
        metrics={"posts": np.int64(4)},
    )
    manifest = json.loads(path.read_text())
    assert manifest["inputs"] == [
        {
            "path": str(source),
            "bytes": 8,
            "sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest(),
        }
    ]
    assert manifest["seed"] == 7
    assert manifest["metrics"] == {"posts": 4}
    assert manifest["stage_timings_s"] == {"network": 1.235}
    assert set(manifest["versions"]) == set(runtime_dependencies())
    assert {"numba", "pyogrio", "pyproj", "matplotlib", "ortools"} <= set(manifest["versions"])
    assert manifest["python"] == platform.python_version()


def test_runtime_dependencies_are_read_from_the_metadata_without_extras() -> None:
    names = runtime_dependencies()
    assert names[0] == "safepassage"
    assert {"osmnx", "numba", "pyogrio", "pyproj", "matplotlib", "tqdm"} <= set(names)
    assert not {"dask", "pytest", "mypy", "neighbors"} & set(names)  # extras, not runtime
    assert runtime_dependencies("no-such-distribution-here") == PACKAGES


def test_manifest_refuses_a_missing_input(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="manifest inputs not found"):
        write_manifest(
            tmp_path / "m.json",
            config={},
            inputs=[tmp_path / "gone.csv"],
            seed=0,
            stage_timings={},
            metrics={},
        )


def test_partner_csv_groups_weekdays_and_keeps_only_partner_columns() -> None:
    roster = pd.DataFrame(
        {
            "worker_id": ["W1", "W1", "W1"],
            "vendor_id": ["V1"] * 3,
            "post_id": ["P1"] * 3,
            "school_id": ["609791"] * 3,
            "weekday": ["Wed", "Mon", "Tue"],
            "window": ["am"] * 3,
            "start": ["07:00"] * 3,
            "end": ["08:15"] * 3,
            "minutes": [75] * 3,
            "students": [40] * 3,  # must never reach a partner
        }
    )
    posts = gpd.GeoDataFrame(
        {"post_id": ["P1"], "cross_streets": ["S Halsted St & W 63rd St"]},
        geometry=[shapely.Point(446000, 4625000)],
        crs=UTM16,
    )
    table = partner_csv(roster, posts)
    assert list(table.columns) == [
        "vendor_id",
        "school_id",
        "post_id",
        "cross_streets",
        "lat",
        "lon",
        "window",
        "start",
        "end",
        "weekdays",
        "worker_id",
    ]
    row = table.iloc[0]
    assert (len(table), row["weekdays"]) == (1, "Mon;Tue;Wed")
    assert 41.7 < row["lat"] < 41.8
    assert -87.7 < row["lon"] < -87.6


def test_partner_csv_rejects_posts_missing_from_the_posts_table() -> None:
    roster = pd.DataFrame(
        [["W1", "V1", "P7", "609791", "Mon", "am", "07:00", "08:15"]],
        columns=ASSIGNMENT_COLUMNS[:-1],
    )
    posts = pd.DataFrame({"post_id": ["P1"], "lat": [41.77], "lon": [-87.64]})
    with pytest.raises(DataError, match=r"\['P7'\]"):
        partner_csv(roster, posts)
