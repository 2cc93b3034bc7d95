"""`safepassage replan`: a day re-planned around absent workers, on the grid plan's output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from safepassage.cli import EXIT_INPUT, EXIT_OK, main
from safepassage.pipeline import plan
from safepassage.replan import ReplanError, read_plan_folder, replan_day
from tests.grid_plan import write_inputs


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The grid plan (2 schools, 6 workers of one vendor, 1 floater), written out."""
    folder = tmp_path_factory.mktemp("replan")
    config = write_inputs(folder)
    text = config.read_text().replace('dir = "out"', 'dir = "out"\nhtml = false\npdf = false')
    config.write_text(text)
    plan(config, out=folder / "out")
    return folder / "out"


def _rows(roster: pd.DataFrame, day: str) -> pd.DataFrame:
    return roster[roster["weekday"] == day].sort_values(["worker_id", "window"])


def _regular(plan_dir: Path) -> str:
    """A regular worker rostered on Monday (not a floater)."""
    roster = pd.read_csv(plan_dir / "roster.csv", dtype=str)
    floaters = set(pd.read_csv(plan_dir / "floaters.csv", dtype=str)["worker_id"])
    monday = roster[(roster["weekday"] == "Mon") & ~roster["worker_id"].isin(floaters)]
    return str(monday["worker_id"].iloc[0])


def test_replan_hands_only_the_absent_workers_day_to_others(plan_dir: Path) -> None:
    folder = read_plan_folder(plan_dir)
    absent = _regular(plan_dir)
    day = replan_day(folder, [absent], "Mon")
    before, after = folder.roster, day.roster
    mine = before[(before["worker_id"] == absent) & (before["weekday"] == "Mon")]
    assert len(mine)  # the worker had something to cover
    assert not ((after["worker_id"] == absent) & (after["weekday"] == "Mon")).any()
    for other in ("Tue", "Wed", "Thu", "Fri"):
        pd.testing.assert_frame_equal(
            _rows(before, other).reset_index(drop=True), _rows(after, other).reset_index(drop=True)
        )
    # every other Monday assignment is unchanged; the freed ones are covered or listed
    keep = before[(before["weekday"] == "Mon") & (before["worker_id"] != absent)]
    merged = keep.merge(after, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert len(day.moves) == len(mine)
    assert set(day.moves["absent_worker"]) == {absent}


def test_a_free_floater_covers_first(plan_dir: Path) -> None:
    folder = read_plan_folder(plan_dir)
    floaters = set(pd.read_csv(plan_dir / "floaters.csv", dtype=str)["worker_id"])
    assert len(floaters) == 1  # ceil(0.1 x 6)
    day = replan_day(folder, [_regular(plan_dir)], "Mon")
    covered = day.moves[day.moves["kind"] != "unfilled"]
    assert len(covered)
    assert covered["kind"].iloc[0] == "floater"
    assert covered["covered_by"].iloc[0] in floaters
    # the cover keeps one post per window and the walk rule's 300 min a day
    monday = day.roster[day.roster["weekday"] == "Mon"]
    assert not monday.duplicated(["worker_id", "window"]).any()
    assert monday.groupby("worker_id")["minutes"].apply(lambda m: m.astype(int).sum()).max() <= 300


def test_with_the_floater_absent_too_a_free_regular_is_moved(plan_dir: Path) -> None:
    folder = read_plan_folder(plan_dir)
    floater = str(pd.read_csv(plan_dir / "floaters.csv", dtype=str)["worker_id"].iloc[0])
    day = replan_day(folder, [_regular(plan_dir), floater], "Mon")
    kinds = set(day.moves["kind"])
    assert "floater" not in kinds
    assert kinds <= {"moved", "unfilled"}
    lines = day.lines()
    assert len(lines) == len(day.moves)
    assert all("absent ->" in line for line in lines)


@pytest.mark.parametrize(
    ("absent", "day", "words"),
    [
        ("W99", "Mon", "W99 are not in"),
        ("", "Mon", "give at least one worker id"),
        ("W1", "Sat", "not a school weekday"),
        ("W1", "Funday", "Mon, Tue, Wed, Thu, Fri"),
    ],
)
def test_bad_ids_and_days_are_clear_errors(
    plan_dir: Path, absent: str, day: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = read_plan_folder(plan_dir)
    with pytest.raises(ReplanError, match=words):
        replan_day(folder, absent.split(","), day)
    code = main(["replan", str(plan_dir), "--absent", absent, "--day", day])
    assert code == EXIT_INPUT
    assert words in capsys.readouterr().err


def test_a_folder_without_a_roster_is_refused(plan_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ReplanError, match="no such plan folder"):
        read_plan_folder(tmp_path / "nowhere")
    partial = tmp_path / "partial"
    shutil.copytree(plan_dir, partial)
    (partial / "staff.csv").unlink()
    with pytest.raises(ReplanError, match=r"missing staff\.csv"):
        read_plan_folder(partial)


def test_the_cli_prints_the_moves_and_writes_the_new_roster(
    plan_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = _regular(plan_dir)
    out = tmp_path / "monday"
    code = main(["replan", str(plan_dir), "--absent", absent, "--day", "monday", "--out", str(out)])
    assert code == EXIT_OK
    printed = capsys.readouterr().out
    assert f"{absent} absent ->" in printed
    roster = pd.read_csv(out / "roster.csv", dtype=str)
    assert not ((roster["worker_id"] == absent) & (roster["weekday"] == "Mon")).any()
    moves = pd.read_csv(out / "moves.csv", dtype=str)
    assert set(moves["absent_worker"]) == {absent}
    sheets = sorted(p.name for p in out.glob("day_Mon_*.pdf"))
    assert sheets == ["day_Mon_V1.pdf"]
    assert (out / "day_Mon_V1.pdf").read_bytes().startswith(b"%PDF")
    # the plan folder itself is untouched
    assert (plan_dir / "roster.csv").read_text() != (out / "roster.csv").read_text()


def test_the_plans_summary_gives_whole_students_units_and_floaters(plan_dir: Path) -> None:
    """(The same grid plan's summary.md.)"""
    figures = (plan_dir / "summary.md").read_text().split("## Route review")[0]
    students = [line for line in figures.splitlines() if "students" in line]
    assert students
    assert not any(line.rstrip().endswith(".0") for line in students)
    assert "- corridors: " in figures
    assert " km" in figures
    assert "a school year" in figures
    staffing = (plan_dir / "summary.md").read_text().split("## Staffing needs")[1]
    assert "floaters stand by" in staffing
