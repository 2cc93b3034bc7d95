"""The whole plan on hand-made inputs (no shared data), and validate == plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from safepassage.cli import main
from safepassage.config import load_config
from safepassage.inputs import InputError
from safepassage.pipeline import plan
from safepassage.validate import validate_inputs
from tests.grid_plan import SCHOOLS, write_inputs


@pytest.fixture(scope="module")
def grid_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    config = write_inputs(tmp_path_factory.mktemp("grid"))
    out = config.parent / "out"
    plan(config, out=out)
    return config, out


def test_plan_runs_end_to_end_without_shared_data(grid_plan: tuple[Path, Path]) -> None:
    _, out = grid_plan
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["metrics"]["schools"] == len(SCHOOLS)
    posts = pd.read_csv(out / "posts.csv")
    assert posts["selected"].sum() == 2 * len(SCHOOLS)  # [posts] per_school = 2
    roster = pd.read_csv(out / "roster.csv")
    assert set(roster["post_id"]) <= set(posts.loc[posts["selected"], "post_id"])
    assert roster["minutes"].gt(0).all()
    assert (out / "map.html").stat().st_size > 0
    assert list((out / "partner").glob("posts_*.pdf"))


def _edit(config: Path, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    path = config.parent / name
    change(pd.read_csv(path, dtype=str)).to_csv(path, index=False)


def _set(column: str, value: str, row: int = 0) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[row, column] = value
        return table

    return change


def refused_by_both(config: Path) -> list[str]:
    """The problems validate lists for ``config``, after checking plan refuses it with them."""
    found = validate_inputs(load_config(config))
    with pytest.raises(InputError) as refused:
        plan(config)
    assert found.problems == refused.value.problems
    return found.problems


BROKEN: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "weekday Tues": ("workers.csv", _set("weekdays", "Mon;Tues"), "Tues"),
    "window noon": ("workers.csv", _set("windows", "noon"), "noon"),
    "duplicate worker": ("workers.csv", _set("worker_id", "W2"), "duplicate worker_id"),
    "negative minutes": ("workers.csv", _set("max_minutes_day", "-30"), "must both be positive"),
    "unknown vendor": ("workers.csv", _set("vendor_id", "V9"), "V9"),
    "school nobody serves": ("vendors.csv", _set("school_ids", "S1"), "served by no vendor"),
    "incidents without coordinates": (
        "incidents.csv",
        lambda t: t.drop(columns=["Latitude", "Longitude"]),
        "incidents.csv",
    ),
    "incidents with a header only": ("incidents.csv", lambda t: t.iloc[0:0], "no rows"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_and_plan_refuse_the_same_broken_inputs(tmp_path: Path, case: str) -> None:
    name, change, needle = BROKEN[case]
    config = write_inputs(tmp_path)
    _edit(config, name, change)
    problems = refused_by_both(config)
    assert any(needle in p for p in problems), problems


def test_without_staff_tables_validate_and_plan_both_skip_the_roster(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    text = config.read_text().replace('vendors = "vendors.csv"\n', "")
    config.write_text(text.replace('workers = "workers.csv"\n', ""))
    found = validate_inputs(load_config(config))
    assert found.problems == []
    assert list(found.schools["school_id"]) == sorted(SCHOOLS)
    assert any(s.startswith("roster") for s in found.skipped)
    result = plan(config)
    assert result.roster_result is None
    assert result.posts["selected"].sum() == 2 * len(SCHOOLS)


def test_validate_lists_the_schools_it_would_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_inputs(tmp_path)
    assert main(["validate", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "2 schools would be planned" in printed
    assert "S1  GRID ELEMENTARY" in printed


def test_a_route_file_of_another_year_than_safe_passage_year_is_refused(tmp_path: Path) -> None:
    config = write_inputs(tmp_path, extras=True)
    (tmp_path / "reference_routes.geojson").rename(tmp_path / "routes_SY1617.geojson")
    text = config.read_text().replace(
        'workers = "workers.csv"\n',
        'workers = "workers.csv"\nreference_routes = "routes_SY1617.geojson"\n',
    )
    config.write_text(text + '\n[schools]\nsafe_passage_year = "SY1516"\n')
    found = validate_inputs(load_config(config))
    assert any("holds the SY1617 routes" in p for p in found.problems), found.problems
    with pytest.raises(InputError, match="SY1516"):
        plan(config)
    config.write_text(text + '\n[schools]\nsafe_passage_year = "SY1617"\n')
    assert list(plan(config).schools["school_id"]) == ["S1"]  # the one school with a route


def test_an_unreadable_population_table_is_a_problem_of_validate_and_plan(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    (tmp_path / "population.csv").write_bytes(b'CENSUS BLOCK,TOTAL POPULATION\n"6701001001,9\x00')
    problems = refused_by_both(config)
    assert any(p.startswith("data.population:") for p in problems), problems


def test_zipped_shapefile_blocks_are_read(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    blocks = gpd.read_file(tmp_path / "blocks.geojson")
    blocks.to_file(tmp_path / "blocks.shp.zip", driver="ESRI Shapefile")
    config.write_text(config.read_text().replace("blocks.geojson", "blocks.shp.zip"))
    assert validate_inputs(load_config(config)).problems == []
    assert plan(config).origins["students"].sum() > 0


def test_validate_refuses_an_output_folder_of_the_users(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("my notes")
    found = validate_inputs(load_config(config))
    assert any(p.startswith("output.dir:") and "notes.txt" in p for p in found.problems)
    assert (tmp_path / "out" / "notes.txt").read_text() == "my notes"


def test_designated_source_without_designated_routes_is_refused_by_both(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    config.write_text(config.read_text().replace("[routes]\n", '[routes]\nsource = "designated"\n'))
    problems = refused_by_both(config)
    assert any(p.startswith("routes.source:") for p in problems), problems


def test_designated_routes_are_reviewed(tmp_path: Path) -> None:
    config = write_inputs(tmp_path, extras=True)
    text = config.read_text().replace(
        'workers = "workers.csv"\n',
        'workers = "workers.csv"\ndesignated_routes = "designated_routes.geojson"\n',
    )
    config.write_text(text)
    out = tmp_path / "out"
    result = plan(config, out=out)
    review = pd.read_csv(out / "route_review.csv")
    assert list(review["school_id"].astype(str)) == ["S1"]  # S2 has no designated route
    row = review.iloc[0]
    assert row["length_m"] == pytest.approx(500.0, abs=1.0)
    assert row["students_am"] > 0
    assert row["exposure_pm"] > 0
    assert 0 < row["uncovered_share_pm"] < 1
    # the shootings lie along 5 St (Ave B to Ave H): the route's riskiest stretch is there
    assert "5 St" in row["riskiest"]
    assert "review" in set(gpd.list_layers(out / "plan.gpkg")["name"])
    assert result.metrics["routes_reviewed"] == 1
    without = plan(write_inputs(tmp_path / "plain"))
    assert without.review is None


def test_staff_problems_name_the_file_and_the_editor_lines(tmp_path: Path) -> None:
    config = write_inputs(tmp_path)
    workers = tmp_path / "workers.csv"
    ids = pd.read_csv(workers, dtype=str)["worker_id"].tolist()
    twin = ids.index("W2")  # row 0 becomes a second W2: lines 2 and twin + 2 (after the header)
    _edit(config, "workers.csv", _set("worker_id", "W2"))
    _edit(config, "workers.csv", _set("vendor_id", "V9", row=1))
    problems = refused_by_both(config)
    assert f"{workers}: lines 2, {twin + 2}: duplicate worker_id 'W2'" in problems
    assert any(p.startswith(f"{workers}: line 3 (worker_id ") and "V9" in p for p in problems)
