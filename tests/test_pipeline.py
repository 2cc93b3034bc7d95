"""The whole plan on a small Englewood example: outputs, reproducibility, failures."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pypdf import PdfReader

from safepassage import pipeline
from safepassage.config import PlanConfig, load_config
from safepassage.errors import DataError
from safepassage.pipeline import plan
from safepassage.result import PlanResult

EXAMPLE = Path(__file__).parent.parent / "data" / "examples" / "englewood.toml"
SCHOOLS = ("609707", "609768", "609711")  # Robeson HS, Hope HS, Harper HS


def small_config(data_root: Path, cache: Path) -> PlanConfig:
    cfg = load_config(EXAMPLE, data_root=data_root)
    return cfg.model_copy(
        update={
            "data": cfg.data.model_copy(update={"cache_dir": cache}),
            "schools": cfg.schools.model_copy(update={"ids": SCHOOLS}),
            "staffing": cfg.staffing.model_copy(update={"num_workers": 1, "time_limit_s": 20}),
        }
    )


@pytest.fixture(scope="module")
def planned(
    data_root: Path, network_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PlanConfig, PlanResult, Path]:
    folder = tmp_path_factory.mktemp("plan")
    cfg = small_config(data_root, network_cache)
    out = folder / "out"
    return cfg, plan(cfg, out=out), out


def test_plan_writes_every_output(planned: tuple[PlanConfig, PlanResult, Path]) -> None:
    _, result, out = planned
    names = {p.name for p in out.iterdir()}
    assert {"plan.gpkg", "posts.csv", "roster.csv", "map.html", "manifest.json"} <= names
    assert set(gpd.list_layers(out / "plan.gpkg")["name"]) >= {"risk", "corridors", "posts"}
    assert sorted(result.schools["school_id"]) == sorted(SCHOOLS)
    assert result.metrics["posts_selected"] == len(result.posts[result.posts["selected"]])
    packets = sorted((out / "partner").glob("posts_*.pdf"))
    assert packets, "one PDF post packet per vendor"


def test_same_config_gives_identical_plan_tables(
    planned: tuple[PlanConfig, PlanResult, Path], tmp_path: Path
) -> None:
    cfg, _, out = planned
    again = tmp_path / "again"
    plan(cfg, out=again)
    for name in ("posts.csv", "roster.csv", "unfilled.csv", "comparison.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(again / name))
    first = gpd.read_file(out / "plan.gpkg", layer="corridors")
    second = gpd.read_file(again / "plan.gpkg", layer="corridors")
    pd.testing.assert_frame_equal(first, second)


def test_partner_outputs_carry_no_student_data(
    planned: tuple[PlanConfig, PlanResult, Path],
) -> None:
    _, result, out = planned
    partner = pd.read_csv(out / "partner" / "partner.csv")
    assert not [c for c in partner.columns if "student" in c or "origin" in c]
    for packet in (out / "partner").glob("*.pdf"):
        text = " ".join(page.extract_text() for page in PdfReader(packet).pages).lower()
        assert "student" not in text
        assert not any(o.lower() in text for o in result.origins["origin_id"])


def test_aggregated_origins_respect_the_minimum(
    planned: tuple[PlanConfig, PlanResult, Path],
) -> None:
    cfg, _, out = planned
    origins = gpd.read_file(out / "plan.gpkg", layer="origins")
    assert (origins["students"] >= cfg.routes.min_students).all()


def test_failed_run_leaves_earlier_outputs_intact(
    planned: tuple[PlanConfig, PlanResult, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, _, out = planned
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*_args: object, **_kwargs: object) -> None:
        raise DataError("posts stage broke")

    monkeypatch.setattr(pipeline, "site_posts", broken)
    with pytest.raises(DataError, match="posts stage broke"):
        plan(cfg, out=out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_interrupt_while_writing_leaves_no_half_written_folder(
    planned: tuple[PlanConfig, PlanResult, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, _, out = planned
    before = sorted(p.name for p in out.iterdir())

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("safepassage.maps.printed.post_packet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plan(cfg, out=out)
    assert sorted(p.name for p in out.iterdir()) == before
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    assert leftovers == []


def test_unknown_school_id_is_refused(data_root: Path, network_cache: Path) -> None:
    cfg = small_config(data_root, network_cache)
    cfg = cfg.model_copy(update={"schools": cfg.schools.model_copy(update={"ids": ("999999",)})})
    with pytest.raises(DataError, match="999999"):
        plan(cfg)


def test_window_risk_scales_hazards_to_the_window(
    planned: tuple[PlanConfig, PlanResult, Path],
) -> None:
    from safepassage.stages import window_risk

    _, result, _ = planned
    table = result.risk.table
    hazards_all = table.loc[table["window"] == "all", "risk_hazards"].sum()
    assert hazards_all > 0
    am = window_risk(result.risk, "am")
    every = window_risk(result.risk, "all")
    # the arrival window holds a small share of the day's incidents, so its hazard
    # term is scaled down with it: window risk stays well below the all-day risk
    assert 0 < am.sum() < 0.5 * every.sum()


def test_west_side_example_plans_on_census_tracts(data_root: Path, tmp_path: Path) -> None:
    cfg = load_config(EXAMPLE.with_name("west_side.toml"), data_root=data_root)
    cfg = cfg.model_copy(
        update={
            "data": cfg.data.model_copy(update={"cache_dir": tmp_path / "cache"}),
            "staffing": cfg.staffing.model_copy(update={"num_workers": 1, "time_limit_s": 10}),
        }
    )
    result = plan(cfg)
    assert result.metrics["schools"] == 14
    assert result.metrics["posts_selected"] > 0
    assert result.problems.empty


def test_replan_on_the_example_output_changes_only_the_absent_workers_day(
    planned: tuple[PlanConfig, PlanResult, Path], tmp_path: Path
) -> None:
    """`safepassage replan` on the Englewood example's output (issue 15's check)."""
    from safepassage.cli import EXIT_OK, main

    _, result, out = planned
    roster = result.roster
    assert roster is not None
    both = roster.groupby(["worker_id", "weekday"])["minutes"].sum()
    assert both.max() == 300  # a worker on both windows works the 5-hour split shift
    absent = str(roster[roster["weekday"] == "Wed"]["worker_id"].iloc[0])
    assert (
        main(["replan", str(out), "--absent", absent, "--day", "Wed", "--out", str(tmp_path / "r")])
        == EXIT_OK
    )
    new = pd.read_csv(tmp_path / "r" / "roster.csv", dtype=str)
    old = pd.read_csv(out / "roster.csv", dtype=str)
    assert not ((new["worker_id"] == absent) & (new["weekday"] == "Wed")).any()
    for day in ("Mon", "Tue", "Thu", "Fri"):
        pd.testing.assert_frame_equal(
            old[old["weekday"] == day].reset_index(drop=True),
            new[new["weekday"] == day].reset_index(drop=True),
        )
    assert (tmp_path / "r" / "day_Wed_V-ENG.pdf").is_file() or (
        tmp_path / "r" / "day_Wed_V-WEN.pdf"
    ).is_file()
