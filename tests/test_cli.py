"""The ``safepassage`` command line: exit codes, messages, validate and compare."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from safepassage.cli import EXIT_BROKEN_PIPE, main
from safepassage.compare import compare_outputs
from safepassage.config import config_template
from safepassage.errors import ConfigError, InfeasibleError

EXAMPLES = Path(__file__).parent.parent / "data" / "examples"
FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def restore_log_level() -> Any:
    """main() sets the package log level; keep it from leaking into other tests."""
    package = logging.getLogger("safepassage")
    level = package.level
    yield
    package.setLevel(level)


def fake_pipeline(monkeypatch: pytest.MonkeyPatch, plan: Any) -> None:
    """Stand in for safepassage.pipeline so the CLI is tested without planning."""
    module = types.ModuleType("safepassage.pipeline")
    module.plan = plan  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "safepassage.pipeline", module)


def minimal_config(folder: Path) -> Path:
    (folder / "walk.graphml").write_text("<graphml/>")
    (folder / "schools.csv").write_text("SCHOOL_ID,SCHOOL_NM,X,Y\n609791,BASS,-87.6455,41.7733\n")
    path = folder / "plan.toml"
    path.write_text('[data]\nnetworks = ["walk.graphml"]\nschools = "schools.csv"\n')
    return path


@pytest.mark.parametrize(
    "argv",
    [["--help"], *([c, "--help"] for c in ("validate", "plan", "compare", "fetch", "config"))],
)
def test_help_lists_the_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "usage: safepassage" in out
    assert "130  interrupted" in out


def test_config_template_prints_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--template"]) == 0
    assert capsys.readouterr().out == config_template()


def test_config_without_template_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 2
    assert "--template" in capsys.readouterr().err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 2
    assert "required: config" in capsys.readouterr().err


def test_validate_accepts_the_example(
    data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAFEPASSAGE_DATA", str(data_root))
    assert main(["validate", str(EXAMPLES / "englewood.toml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ")
    assert "15 schools would be planned" in out


def test_validate_broken_config_exits_2_listing_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = minimal_config(tmp_path)
    path.write_text(path.read_text() + '[routes]\nradius_high_m = -1\n[posts]\nper_school = "8"\n')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s) in the config" in err
    assert "routes.radius_high_m: must be > 0, got -1" in err
    assert "posts.per_school: must be an integer" in err
    assert "Traceback" not in err


def test_validate_reports_bad_input_files_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = minimal_config(tmp_path)
    (tmp_path / "walk.graphml").write_text("not a graph")
    (tmp_path / "crimes.csv").write_text("ID,Block\n1,063XX S HALSTED ST\n")
    path.write_text(
        path.read_text() + 'incidents = ["crimes.csv"]\n[risk.category_weights]\nMURDER = 2.0\n'
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "data.networks:" in err
    assert "does not start like a graphml file" in err
    assert "data.incidents[0]:" in err
    assert "'latitude'" in err  # the reader's message: which columns to map
    assert "risk.category_weights: unknown categories ['MURDER']" in err


def test_plan_passes_the_options_to_the_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def plan(config: Any, **options: Any) -> Any:
        calls.append({"name": config.name, **options})
        return types.SimpleNamespace(metrics={"posts": 3})

    fake_pipeline(monkeypatch, plan)
    argv = [
        "plan",
        str(minimal_config(tmp_path)),
        "--out",
        str(tmp_path / "o"),
        "--workers",
        "3",
        "--scheduler",
        "tcp://h:8786",
        "--quiet",
    ]
    assert main(argv) == 0
    assert calls == [
        {
            "name": "plan",
            "out": tmp_path / "o",
            "workers": 3,
            "scheduler": "tcp://h:8786",
            "progress": False,
        }
    ]


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (InfeasibleError("vendor V1 lacks 2 workers"), 3, "error: vendor V1 lacks 2 workers"),
        (ConfigError(["routes.x: bad"]), 2, "error: 1 problem(s):"),
        (KeyboardInterrupt(), 130, "interrupted; earlier outputs untouched"),
        (RuntimeError("boom"), 1, "unexpected failure"),
    ],
)
def test_plan_errors_map_to_exit_codes(
    error: BaseException,
    code: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def plan(config: Any, **options: Any) -> Any:
        raise error

    fake_pipeline(monkeypatch, plan)
    assert main(["plan", str(minimal_config(tmp_path)), "--quiet"]) == code
    err = capsys.readouterr().err
    assert message in err
    assert ("Traceback" in err) == (code == 1)


def test_compare_finds_added_removed_and_moved_posts() -> None:
    diff = compare_outputs(FIXTURES / "compare_old", FIXTURES / "compare_new")
    assert (diff.added, diff.removed) == (["P4"], ["P2"])
    assert [(post, round(d)) for post, d in diff.moved] == [("P3", 50)]
    assert diff.unchanged == 1  # P1 moved 5 m only; P9 is not selected


def test_compare_counts_worker_moves_per_vendor_and_coverage() -> None:
    diff = compare_outputs(FIXTURES / "compare_old", FIXTURES / "compare_new")
    assert diff.workers.to_dict("records") == [
        {"vendor_id": "A", "moved": 1, "added": 0, "removed": 0},
        {"vendor_id": "B", "moved": 0, "added": 1, "removed": 0},
    ]
    assert (diff.coverage_old, diff.coverage_new) == (5, 4)


def test_compare_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(FIXTURES / "compare_old"), str(FIXTURES / "compare_new")]) == 0
    out = capsys.readouterr().out
    assert "posts: 1 added, 1 removed, 1 moved (> 10 m), 1 unchanged" in out
    assert "coverage: staffed post-windows 5 -> 4 (-1)" in out


def test_compare_on_a_folder_without_outputs_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(tmp_path), str(FIXTURES / "compare_new")]) == 2
    assert "posts.csv not found" in capsys.readouterr().err


def _folder(
    path: Path, posts: list[tuple[str, float, float]], roster: list[tuple[str, str]]
) -> Path:
    path.mkdir()
    lines = ["post_id,school_id,school_name,cross_streets,x,y,selected"]
    lines += [f"{p},609791,BASS,{p} corner,{x},{y},True" for p, x, y in posts]
    (path / "posts.csv").write_text("\n".join(lines) + "\n")
    rows = ["worker_id,vendor_id,post_id,weekday,window"]
    rows += [f"{w},A,{p},Mon,am" for w, p in roster]
    (path / "roster.csv").write_text("\n".join(rows) + "\n")
    return path


def test_compare_matches_renamed_posts_by_place_nearest_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _folder(
        tmp_path / "old",
        [("P17", 0, 0), ("P18", 100, 0), ("P19", 500, 0)],
        [("W1", "P17"), ("W2", "P18")],
    )
    new = _folder(
        tmp_path / "new",
        # 609791-B is 20 m from P18 and 80 m from P17; 609791-A 3 m from P17, 97 m from P18
        [("609791-A", 3, 0), ("609791-B", 80, 0), ("609791-C", 560, 0)],
        [("W1", "609791-A"), ("W2", "609791-A")],
    )
    diff = compare_outputs(old, new)
    assert [(o, n, round(d)) for o, n, d in diff.renamed] == [
        ("P17", "609791-A", 3),
        ("P18", "609791-B", 20),
    ]
    assert (diff.added, diff.removed) == (["609791-C"], ["P19"])  # 60 m apart: no match
    assert [(p, round(d)) for p, d in diff.moved] == [("609791-B", 20)]
    assert diff.unchanged == 1
    # W1 keeps the same post under its new id; W2 moved from P18 to 609791-A
    assert diff.workers.to_dict("records") == [
        {"vendor_id": "A", "moved": 1, "added": 0, "removed": 0}
    ]
    assert main(["compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "2 matched by place (within 30 m)" in out
    assert "~ 609791-B (was P18) moved 20 m (609791-B corner, BASS)" in out
    assert "- P19 (P19 corner, BASS)" in out
    assert "= P17 is now 609791-A (3 m)" in out


def test_compare_reads_folders_without_school_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(FIXTURES / "compare_old"), str(FIXTURES / "compare_new")]) == 0
    out = capsys.readouterr().out
    assert "~ P3 moved 50 m (S Racine Ave & W 66th St, school 610290)" in out


def run_into_closed_pipe(*argv: str) -> tuple[int, str]:
    """Run ``python -m safepassage ARGV`` with stdout a pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # before the child starts: its first write meets a closed pipe
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "safepassage", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("compare", str(FIXTURES / "compare_old"), str(FIXTURES / "compare_new")),
        ("config", "--template"),  # one large write
    ],
)
def test_a_closed_output_pipe_ends_quietly(argv: tuple[str, ...]) -> None:
    code, stderr = run_into_closed_pipe(*argv)
    assert code == EXIT_BROKEN_PIPE == 141
    assert "Traceback" not in stderr
    assert "unexpected failure" not in stderr
    assert "BrokenPipeError" not in stderr  # not even at the interpreter's exit
