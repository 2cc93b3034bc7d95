"""Reading and normalising incident tables; school days, windows and recency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from safepassage.errors import CRSError, DataError, MissingColumnError
from safepassage.risk import (
    DEFAULT_CATEGORY_WEIGHTS,
    filter_school_days,
    in_window,
    read_hazard_points,
    read_incidents,
    recency_weights,
)
from safepassage.routes.network import WalkNetwork

# A real CPD row (2016 gun-crime file): its lat/lon and its State Plane X/Y (US feet).
LAT, LON, X_FT, Y_FT = 41.895942308, -87.746866179, 1143919.0, 1905217.0


def cpd_rows(**overrides: list[object]) -> pd.DataFrame:
    """Three clean CPD-schema rows (a Tuesday morning, a Tuesday afternoon, a Saturday)."""
    rows = {
        "ID": ["1", "2", "3"],
        "Date": ["05/03/2016 07:15:00 AM", "05/03/2016 03:30:00 PM", "05/07/2016 10:00:00 PM"],
        "Primary Type": ["ROBBERY", "BATTERY", "WEAPONS VIOLATION"],
        "Description": ["ARMED: HANDGUN", "AGGRAVATED: HANDGUN", "UNLAWFUL POSS OF HANDGUN"],
        "Latitude": [LAT, LAT + 0.001, LAT + 0.002],
        "Longitude": [LON, LON, LON],
    }
    rows.update(overrides)
    return pd.DataFrame(rows)


def test_cpd_schema_reads_with_normalised_columns() -> None:
    incidents = read_incidents(cpd_rows())
    table = incidents.table
    assert list(table.columns[:5]) == ["incident_id", "occurred_at", "year", "category", "weight"]
    assert table["incident_id"].tolist() == ["1", "2", "3"]
    assert str(table["occurred_at"].dt.tz) == "America/Chicago"
    assert table["occurred_at"].iloc[1] == pd.Timestamp("2016-05-03 15:30", tz="America/Chicago")
    assert incidents.crs.to_epsg() == 26916
    assert len(incidents.problems) == 0


def test_battery_with_a_handgun_becomes_a_shooting() -> None:
    categories = read_incidents(cpd_rows()).table["category"].tolist()
    assert categories == ["robbery", "shooting", "weapons"]


def test_weights_come_from_defaults_overridden_by_config() -> None:
    incidents = read_incidents(cpd_rows(), category_weights={"robbery": 7.0})
    weights = incidents.table["weight"].tolist()
    assert weights == [
        7.0,
        DEFAULT_CATEGORY_WEIGHTS["shooting"],
        DEFAULT_CATEGORY_WEIGHTS["weapons"],
    ]


def test_violence_outweighs_property_crime_by_default() -> None:
    violent = ("homicide", "shooting", "weapons", "robbery", "assault", "battery")
    assert (
        min(DEFAULT_CATEGORY_WEIGHTS[c] for c in violent) > 5 * DEFAULT_CATEGORY_WEIGHTS["property"]
    )


def test_state_plane_feet_land_where_lat_lon_do() -> None:
    from_latlon = read_incidents(cpd_rows()).table.geometry.iloc[0]
    xy = cpd_rows().drop(columns=["Latitude", "Longitude"])
    xy["X Coordinate"] = [X_FT, X_FT, X_FT]
    xy["Y Coordinate"] = [Y_FT, Y_FT, Y_FT]
    from_xy = read_incidents(xy).table.geometry.iloc[0]
    assert shapely.distance(from_latlon, from_xy) < 2.0


def test_homicide_file_without_time_keeps_the_year() -> None:
    frame = pd.DataFrame(
        {
            "id": ["10156667"],
            "primary_type": ["HOMICIDE"],
            "community_area": [32],
            "year": [2015],
            "latitude": [41.88693095],
            "longitude": [-87.63018934],
        }
    )
    table = read_incidents(frame).table
    assert table["category"].iloc[0] == "homicide"
    assert table["year"].iloc[0] == 2015
    assert pd.isna(table["occurred_at"].iloc[0])


def test_column_mapping_reads_a_foreign_schema() -> None:
    frame = pd.DataFrame(
        {
            "case": ["A"],
            "when": ["2016-05-03T07:15:00"],
            "kind": ["ASSAULT"],
            "north": [LAT],
            "east": [LON],
        }
    )
    mapping = {
        "incident_id": "case",
        "occurred_at": "when",
        "category": "kind",
        "latitude": "north",
        "longitude": "east",
    }
    table = read_incidents(frame, columns=mapping).table
    assert table["incident_id"].tolist() == ["A"]
    assert table["occurred_at"].iloc[0] == pd.Timestamp("2016-05-03 07:15", tz="America/Chicago")
    assert table["category"].iloc[0] == "assault"


def test_utc_offsets_are_converted_to_local_time() -> None:
    frame = cpd_rows(Date=["2016-05-03T12:15:00Z"] * 3)
    occurred = read_incidents(frame).table["occurred_at"].iloc[0]
    assert occurred == pd.Timestamp("2016-05-03 07:15", tz="America/Chicago")


def test_bad_rows_are_dropped_and_counted_by_kind() -> None:
    frame = pd.DataFrame(
        {
            "ID": [str(i) for i in range(6)],
            "Date": ["05/03/2016 07:15:00 AM"] * 4 + ["not a date", "05/03/2016 07:15:00 AM"],
            "Primary Type": ["ROBBERY"] * 5 + ["MADE UP TYPE"],
            "Latitude": [LAT, None, 0.0, LAT, LAT, LAT],
            "Longitude": [LON, None, 0.0, LON, LON, LON],
        }
    )
    incidents = read_incidents(frame)
    problems = incidents.problems.set_index("problem")
    assert problems.loc["missing_coordinates", "rows"] == [1]
    assert problems.loc["zero_coordinates", "rows"] == [2]
    assert problems.loc["bad_date", "rows"] == [4]
    assert problems.loc["unknown_category", "rows"] == [5]
    assert incidents.table["source_row"].tolist() == [0, 3, 5]
    assert incidents.table["category"].iloc[-1] == "other"


def test_rows_far_from_the_network_are_reported(grid: WalkNetwork) -> None:
    incidents = read_incidents(cpd_rows(), network=grid)  # the grid is not at these coordinates
    problems = incidents.problems.set_index("problem")
    assert problems.loc["outside_network", "count"] == 3
    assert len(incidents) == 0


def test_strict_mode_names_the_bad_rows() -> None:
    frame = cpd_rows(Latitude=[LAT, None, LAT], Longitude=[LON, None, LON])
    with pytest.raises(DataError, match=r"missing_coordinates: 1 row\(s\) \(row 1\)"):
        read_incidents(frame, strict=True)


def test_missing_columns_lists_found_and_expected() -> None:
    frame = pd.DataFrame({"ID": ["1"], "Date": ["05/03/2016 07:15:00 AM"]})
    with pytest.raises(MissingColumnError) as info:
        read_incidents(frame)
    message = str(info.value)
    assert "Primary Type" not in message  # only coordinates are needed
    assert "Latitude/Longitude" in message
    assert "'ID'" in message
    assert "'Date'" in message


def test_swapped_latitude_and_longitude_raise_crs_error() -> None:
    frame = cpd_rows(Latitude=[LON, LON, LON], Longitude=[LAT, LAT, LAT])
    with pytest.raises(CRSError, match="swapped"):
        read_incidents(frame)


def test_school_days_drop_weekends_and_listed_dates() -> None:
    frame = cpd_rows(
        Date=["05/03/2016 07:15:00 AM", "05/04/2016 07:15:00 AM", "05/07/2016 07:15:00 AM"]
    )
    kept = filter_school_days(read_incidents(frame), non_school_dates=["2016-05-04"])
    assert kept.table["incident_id"].tolist() == ["1"]


def test_windows_include_their_start_and_exclude_their_end() -> None:
    frame = cpd_rows(
        Date=["05/03/2016 06:30:00 AM", "05/03/2016 09:00:00 AM", "05/03/2016 02:00:00 PM"]
    )
    masks = in_window(read_incidents(frame), {"am": ("06:30", "09:00"), "pm": ("14:00", "17:30")})
    assert masks["am"].tolist() == [True, False, False]
    assert masks["pm"].tolist() == [False, False, True]


def test_window_with_a_bad_time_names_the_window() -> None:
    with pytest.raises(DataError, match="'am'"):
        in_window(read_incidents(cpd_rows()), {"am": ("6.30", "09:00")})


def test_recency_weight_halves_every_half_life() -> None:
    frame = cpd_rows(
        Date=["01/01/2016 12:00:00 PM", "01/31/2016 12:00:00 PM", "03/01/2016 12:00:00 PM"]
    )
    weights = recency_weights(read_incidents(frame), "2016-03-01 12:00", half_life_days=30)
    np.testing.assert_allclose(weights, [0.5 ** (60 / 30), 0.5 ** (30 / 30), 1.0])


def test_hazard_points_parse_address_and_lat_lon() -> None:
    frame = pd.DataFrame(
        {
            "PIN": ["1", "2"],
            "Location": ["6325 S ABERDEEN ST\nCHICAGO, IL\n(41.778897, -87.652056)", ""],
        }
    )
    points = read_hazard_points(frame, keep_columns=["PIN"])
    assert points["PIN"].tolist() == ["1"]
    assert points.crs.to_epsg() == 26916
    assert 440_000 < points.geometry.x.iloc[0] < 450_000


def test_hazard_points_read_mapped_x_y_in_the_declared_crs(tmp_path: Path) -> None:
    """[data] hazards = [{ path, columns = { x, y }, crs }] does what the config says."""
    from safepassage.config import TableInput

    path = tmp_path / "lots.csv"
    # Illinois East state-plane feet (EPSG:3435) of 41.778897 N, 87.652056 W
    path.write_text("PIN,EAST_FT,NORTH_FT\n1,1169876.0,1862930.0\n2,,\n")
    spec = TableInput(path=path, columns={"x": "EAST_FT", "y": "NORTH_FT"}, crs="EPSG:3435")
    points = read_hazard_points(spec, keep_columns=["PIN"])
    assert points["PIN"].tolist() == ["1"]
    lonlat = points.to_crs(4326).geometry.iloc[0]
    assert lonlat.x == pytest.approx(-87.652, abs=0.002)
    assert lonlat.y == pytest.approx(41.779, abs=0.002)


def test_shared_gun_crime_file_reports_its_287_rows_without_coordinates(data_root: Path) -> None:
    path = data_root / "crime" / "gun_crimes_2016_citywide.csv.gz"
    incidents = read_incidents(path)
    problems = incidents.problems.set_index("problem")
    assert problems.loc["missing_coordinates", "count"] == 287
    assert incidents.problem_count == 287
    assert len(incidents) == 14_401 - 287
    assert set(incidents.table["category"]) <= {
        "robbery",
        "assault",
        "battery",
        "shooting",
        "weapons",
        "sex_offense",
    }
