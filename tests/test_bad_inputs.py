"""Bad inputs of every class are refused (or warned about) by name.

Each message names the file, the line as a text editor shows it (the header is line
1) and/or the column, and what to do (issue 14, item 4).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd
import pyproj
import pytest

from safepassage.config import ConfigError, config_from_dict, load_config
from safepassage.errors import CRSError, DataError, EmptyTableError, MissingColumnError
from safepassage.io import read_schools, read_workers
from safepassage.risk.incidents import read_incidents
from safepassage.routes.network import WalkNetwork
from safepassage.sources import editor_lines
from safepassage.validate import validate_inputs
from tests.grid_plan import write_inputs

UTM16 = "EPSG:26916"
# three corners of the conftest grid (440000-440400, 4630000-4630400 in EPSG:26916)
CORNERS = [(440_100.0, 4_630_100.0), (440_200.0, 4_630_200.0), (440_300.0, 4_630_100.0)]


def _in(epsg: int) -> list[tuple[float, float]]:
    to = pyproj.Transformer.from_crs(UTM16, epsg, always_xy=True)
    return [tuple(map(float, to.transform(x, y))) for x, y in CORNERS]  # type: ignore[misc]


def _csv(path: Path, columns: dict[str, list[object]]) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def _incidents(path: Path, a: str, b: str, points: list[tuple[float, float]]) -> Path:
    return _csv(path, {"ID": [1, 2, 3], a: [p[0] for p in points], b: [p[1] for p in points]})


# ----------------------------------------------------------------------------- coordinates


def test_feet_in_incident_latitude_longitude_are_explained(
    tmp_path: Path, grid: WalkNetwork
) -> None:
    path = _incidents(tmp_path / "crimes.csv", "Longitude", "Latitude", _in(3435))
    with pytest.raises(CRSError) as info:
        read_incidents(path, network=grid)
    message = str(info.value)
    assert str(path) in message
    assert "'Longitude'/'Latitude'" in message
    assert "projected coordinates, not degrees" in message
    assert "lines 2, 3, 4" in message
    assert "crs" in message  # what to do: map them as x/y with their crs


def test_feet_in_school_latitude_longitude_are_explained(tmp_path: Path) -> None:
    feet = _in(3435)
    path = _csv(
        tmp_path / "schools.csv",
        {"id": ["A", "B"], "lon": [feet[0][0], -87.6], "lat": [feet[0][1], 41.8]},
    )
    with pytest.raises(CRSError) as info:
        read_schools(path, crs=UTM16)
    message = str(info.value)
    assert str(path) in message
    assert "'lon'/'lat'" in message
    assert "line 2" in message
    assert "projected coordinates" in message


def test_swapped_incident_latitude_longitude_name_the_line_and_columns(tmp_path: Path) -> None:
    lonlat = _in(4326)
    path = _incidents(tmp_path / "crimes.csv", "Latitude", "Longitude", lonlat)  # swapped
    with pytest.raises(CRSError) as info:
        read_incidents(path)
    message = str(info.value)
    assert str(path) in message
    assert "swapped" in message
    assert "lines 2, 3, 4" in message
    assert "Latitude=" in message


def test_swapped_school_latitude_longitude_name_the_line_and_columns(tmp_path: Path) -> None:
    lon, lat = _in(4326)[0]
    path = _csv(tmp_path / "schools.csv", {"id": ["A"], "lat": [lon], "lon": [lat]})
    with pytest.raises(CRSError) as info:
        read_schools(path, crs=UTM16)
    message = str(info.value)
    assert str(path) in message
    assert "swapped" in message
    assert "line 2" in message
    assert "'lon'/'lat'" in message


def test_metres_where_feet_are_declared_are_explained(tmp_path: Path, grid: WalkNetwork) -> None:
    # X/Y of Illinois East in metres (EPSG:26971), read as the police's US feet (EPSG:3435)
    path = _incidents(tmp_path / "crimes.csv", "X Coordinate", "Y Coordinate", _in(26971))
    with pytest.raises(CRSError) as info:
        read_incidents(path, network=grid)
    message = str(info.value)
    assert str(path) in message
    assert "'X Coordinate'/'Y Coordinate'" in message
    assert "look like metres, not the feet" in message


def test_feet_where_metres_are_declared_are_explained(tmp_path: Path, grid: WalkNetwork) -> None:
    path = _incidents(tmp_path / "crimes.csv", "x", "y", _in(3435))
    with pytest.raises(CRSError) as info:
        read_incidents(path, network=grid, source_crs="EPSG:26971")
    assert "look like US feet, not the metres" in str(info.value)
    assert str(path) in str(info.value)


def test_school_feet_declared_as_metres_are_explained(tmp_path: Path) -> None:
    from safepassage.config import TableInput

    feet = _in(3435)
    path = _csv(
        tmp_path / "schools.csv",
        {"id": ["A", "B"], "x": [f[0] for f in feet[:2]], "y": [f[1] for f in feet[:2]]},
    )
    spec = TableInput(path=path, crs="EPSG:26971")
    with pytest.raises(CRSError) as info:
        read_schools(spec, crs=UTM16)
    message = str(info.value)
    assert str(path) in message
    assert "'x'/'y'" in message
    assert "US feet" in message


def test_right_coordinates_in_feet_are_read(tmp_path: Path, grid: WalkNetwork) -> None:
    path = _incidents(tmp_path / "crimes.csv", "X Coordinate", "Y Coordinate", _in(3435))
    incidents = read_incidents(path, network=grid)
    assert len(incidents) == 3
    assert incidents.xy[:, 0] == pytest.approx([x for x, _ in CORNERS], abs=0.01)


# ----------------------------------------------------------------------------- empty tables


def test_an_empty_incident_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crimes.csv"
    path.write_text("")
    with pytest.raises(EmptyTableError, match=re.escape(f"{path}: is empty")):
        read_incidents(path)


def test_a_header_only_incident_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crimes.csv"
    path.write_text("ID,Latitude,Longitude\n")
    with pytest.raises(EmptyTableError, match=re.escape(f"{path}: has a header line but no rows")):
        read_incidents(path)


def test_a_header_only_school_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "schools.csv"
    path.write_text("id,lat,lon\n")
    with pytest.raises(EmptyTableError, match=r"schools\.csv: has a header line but no rows"):
        read_schools(path, crs=UTM16)


def test_a_header_only_incident_table_is_refused_by_validate(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    (tmp_path / "incidents.csv").write_text("ID,Date,Primary Type,Latitude,Longitude\n")
    problems = validate_inputs(load_config(config)).problems
    assert any(
        "data.incidents[0]" in p and "incidents.csv" in p and "no rows" in p for p in problems
    )


def test_a_header_only_hazard_layer_is_a_warning_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_inputs(tmp_path)
    (tmp_path / "lots.csv").write_text("ID,Location\n")
    config.write_text(config.read_text() + '\n[data.hazards.lots]\npath = "lots.csv"\n')
    with caplog.at_level(logging.WARNING):
        found = validate_inputs(load_config(config))
    assert found.problems == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("data.hazards.lots" in w and "lots.csv" in w and "no rows" in w for w in warned)


# ----------------------------------------------------------------------------- lines


def test_editor_lines_count_the_header_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,text\n1,"two\nlines"\n\n2,plain\n3,"a\nb\nc"\n4,x\n')
    assert editor_lines(path, [0, 1, 2, 3]) == [2, 5, 6, 9]


def test_a_bad_worker_line_is_the_line_an_editor_shows(tmp_path: Path) -> None:
    path = tmp_path / "workers.csv"
    path.write_text('worker_id,vendor_id,name,max_days_week\nW1,V1,"Ann\nLee",5\nW2,V1,Bo,five\n')
    with pytest.raises(DataError, match=r"workers.csv: line 4, column 'max_days_week'"):
        read_workers(path)


def test_duplicate_school_ids_name_their_lines(tmp_path: Path) -> None:
    lon, lat = _in(4326)[0]
    path = _csv(tmp_path / "s.csv", {"id": ["A", "B", "A"], "lon": [lon] * 3, "lat": [lat] * 3})
    with pytest.raises(DataError, match=r"s.csv: lines 2, 4, column 'id': school ids \['A'\]"):
        read_schools(path, crs=UTM16)


def test_strict_incident_problems_name_lines(tmp_path: Path) -> None:
    lon, lat = _in(4326)[0]
    path = _csv(tmp_path / "c.csv", {"Latitude": [lat, None, lat], "Longitude": [lon, None, lon]})
    with pytest.raises(DataError, match=r"c.csv: .*missing_coordinates: 1 row\(s\) \(line 3\)"):
        read_incidents(path, strict=True)


# ----------------------------------------------------------------------------- mappings


def test_a_mapped_column_the_file_lacks_names_file_and_column(tmp_path: Path) -> None:
    from safepassage.config import TableInput

    path = _csv(tmp_path / "s.csv", {"CODE": ["A"], "lon": [-87.6], "lat": [41.8]})
    with pytest.raises(MissingColumnError) as info:
        read_schools(TableInput(path=path, columns={"school_id": "SCHOOL"}), crs=UTM16)
    assert "s.csv" in str(info.value)
    assert "SCHOOL (mapped to school_id)" in str(info.value)


def test_an_unknown_canonical_name_is_a_config_error(tmp_path: Path) -> None:
    path = _csv(tmp_path / "s.csv", {"CODE": ["A"], "lon": [-87.6], "lat": [41.8]})
    raw = {
        "data": {
            "networks": [str(path)],
            "schools": {"path": str(path), "columns": {"code": "CODE"}},
        }
    }
    with pytest.raises(
        ConfigError, match=r"schools.columns: unknown canonical name\(s\) \['code'\]"
    ):
        config_from_dict(raw)


def test_an_unknown_table_crs_is_a_config_error(tmp_path: Path) -> None:
    path = _csv(tmp_path / "s.csv", {"CODE": ["A"]})
    raw = {"data": {"networks": [str(path)], "schools": {"path": str(path), "crs": "EPSG:0"}}}
    with pytest.raises(ConfigError, match=r"data.schools.crs: unknown CRS 'EPSG:0'"):
        config_from_dict(raw)


# ----------------------------------------------------------------------------- warnings


@pytest.mark.parametrize(
    ("date", "why"), [("2016-10-08", "a Saturday"), ("2016-07-12", "in July"), ("2016-10-03", "")]
)
def test_a_plan_date_that_is_no_school_day_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, date: str, why: str
) -> None:
    config = write_inputs(tmp_path)
    config.write_text(config.read_text().replace('date = "2016-10-03"', f'date = "{date}"'))
    with caplog.at_level(logging.WARNING):
        validate_inputs(load_config(config))
    warned = [r.getMessage() for r in caplog.records if "plan.date" in r.getMessage()]
    if why:
        assert len(warned) == 1
        assert f"{date} is {why}, not a school day" in warned[0]
    else:
        assert warned == []


def test_unknown_worker_columns_are_listed_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "workers.csv"
    path.write_text(
        "worker_id,vendor_id,name,phone,cleared,shoe_size,Weekdays\nW1,V1,A,1,yes,9,Mon\n"
    )
    with caplog.at_level(logging.WARNING):
        read_workers(path)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert str(path) in warned[0]
    assert "'shoe_size', 'Weekdays'" in warned[0]
    assert "'name'" not in warned[0].split("known")[0]  # name, phone, cleared are known


# ----------------------------------------------------------------------------- log lines


def test_the_incident_log_line_says_what_happened_in_plain_words(
    tmp_path: Path, grid: WalkNetwork, caplog: pytest.LogCaptureFixture
) -> None:
    lonlat = _in(4326)
    far = (lonlat[0][0] + 0.2, lonlat[0][1])  # ~17 km east of the grid
    rows = [*lonlat, far, far, (None, None)]
    path = _csv(
        tmp_path / "c.csv",
        {"Longitude": [r[0] for r in rows], "Latitude": [r[1] for r in rows]},
    )
    with caplog.at_level(logging.INFO, logger="safepassage.risk.incidents"):
        read_incidents(path, network=grid)
    lines = [r.getMessage() for r in caplog.records if "used" in r.getMessage()]
    assert lines == [f"{path}: 2 outside the planned area; 1 without coordinates; 3 used"]


def test_the_log_line_reads_thousands_and_kept_problems() -> None:
    from safepassage.risk.incidents import read_summary

    problems = pd.DataFrame(
        {
            "problem": ["missing_coordinates", "outside_network", "unknown_category"],
            "count": [287, 12_587, 4],
            "rows": [[], [], []],
            "action": ["dropped", "dropped", "kept as 'other'"],
        }
    )
    assert read_summary(1527, problems) == (
        "12,587 outside the planned area; 287 without coordinates; 1,527 used "
        "(4 of an unknown category, counted as 'other')"
    )


def test_staffing_rows_are_named_by_file_and_editor_line(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    workers = pd.read_csv(tmp_path / "workers.csv")
    workers.loc[1, "vendor_id"] = "V9"
    workers.to_csv(tmp_path / "workers.csv", index=False)
    problems = validate_inputs(load_config(config)).problems
    wanted = f"{tmp_path / 'workers.csv'}: line 3 (worker_id 'W2'): vendor_id 'V9'"
    assert any(p.startswith(wanted) for p in problems), problems
