"""The second city: Riverton (tests/riverton.py) plans end to end from its config alone."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from safepassage.config import load_config
from safepassage.pipeline import plan
from safepassage.validate import validate_inputs
from tests import riverton

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "riverton"


def test_the_committed_example_is_what_the_generator_writes(tmp_path: Path) -> None:
    riverton.write(tmp_path)
    assert (EXAMPLE / "riverton.toml").read_text() == (tmp_path / "riverton.toml").read_text()
    for name in ("incidents.csv", "vendors.csv", "workers.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(EXAMPLE / name), pd.read_csv(tmp_path / name))
    for name in ("streets.geojson", "schools.geojson"):
        committed, fresh = gpd.read_file(EXAMPLE / name), gpd.read_file(tmp_path / name)
        assert committed.crs == fresh.crs
        assert list(committed.columns) == list(fresh.columns)
        assert committed.geometry.geom_equals_exact(fresh.geometry, tolerance=1e-6).all()


def test_the_minimal_inputs_are_minimal() -> None:
    """Only an id per school, only coordinates per incident (feet), no population file."""
    assert list(gpd.read_file(EXAMPLE / "schools.geojson").columns) == ["CODE", "geometry"]
    assert list(pd.read_csv(EXAMPLE / "incidents.csv").columns) == ["POINT_X", "POINT_Y"]
    assert gpd.read_file(EXAMPLE / "streets.geojson").crs.to_epsg() == 2272
    config = load_config(EXAMPLE / "riverton.toml")
    assert config.data.population is None
    assert config.data.blocks is None
    assert config.data.profiles is None


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("riverton")
    shutil.copytree(EXAMPLE, folder / "riverton")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
    try:
        config = load_config(folder / "riverton" / "riverton.toml")
        out = folder / "out"
        result = plan(config, out=out)
    finally:
        patch.undo()
    return out, result


def test_riverton_plans_corridors_and_posts_for_every_school(
    planned: tuple[Path, object],
) -> None:
    _, result = planned
    schools = set(riverton.SCHOOLS)
    assert set(result.schools["school_id"]) == schools  # type: ignore[attr-defined]
    assert (result.schools["node"] >= 0).all()  # type: ignore[attr-defined]
    corridors = result.corridors  # type: ignore[attr-defined]
    assert set(corridors["school_id"]) == schools
    assert (corridors.groupby("school_id")["length_m"].sum() > 300).all()
    posts = result.posts  # type: ignore[attr-defined]
    chosen = posts[posts["selected"]]
    assert set(chosen["school_id"]) == schools
    assert result.roster_result.unfilled.empty  # type: ignore[attr-defined]


def test_riverton_writes_a_map_and_packets(planned: tuple[Path, object]) -> None:
    out, _ = planned
    assert (out / "map.html").stat().st_size > 10_000
    packets = sorted((out / "partner").glob("posts_*.pdf"))
    assert [p.name for p in packets] == ["posts_RV-V1.pdf"]
    assert packets[0].read_bytes().startswith(b"%PDF")


def test_riverton_risk_follows_its_undated_uncategorised_incidents(
    planned: tuple[Path, object],
) -> None:
    _, result = planned
    incidents = result.inputs.incidents.table  # type: ignore[attr-defined]
    assert set(incidents["category"]) == {"uncategorised"}
    assert incidents["occurred_at"].isna().all()
    assert len(incidents) == riverton.N_INCIDENTS
    # undated incidents count in the am and pm windows as in the whole day
    table = result.risk.table  # type: ignore[attr-defined]
    by_window = table.groupby("window")["risk_incidents"].sum()
    assert by_window["am"] == pytest.approx(by_window["all"])
    assert by_window["pm"] == pytest.approx(by_window["all"])


def test_riverton_students_come_from_enrollment_along_its_streets(
    planned: tuple[Path, object],
) -> None:
    _, result = planned
    students = result.origins.groupby("school_id")["students"].sum()  # type: ignore[attr-defined]
    # 350 students per school ([schools] default_enrollment), less the cells below the
    # privacy minimum that were dropped
    assert ((students > 300) & (students <= 350)).all(), students


def test_riverton_warns_once_for_each_default_it_relies_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        validate_inputs(load_config(EXAMPLE / "riverton.toml"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for needle in ("no date column", "no category column", "have no enrollment"):
        hits = [w for w in warnings if needle in w]
        assert len(hits) == 1, (needle, warnings)
    incidents = str(EXAMPLE / "incidents.csv")
    assert all(w.startswith(incidents) for w in warnings if "column:" in w)
