"""The output folder rules: new, empty or a previous plan; the user's files are never lost."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from safepassage import __version__
from safepassage.atomic import atomic_output_dir, check_output_dir
from safepassage.cli import main, version
from safepassage.errors import OutputFolderError
from safepassage.outputs import OUTPUT_FILES, check_output_folder


def write_plan(folder: Path | str, files: dict[str, str]) -> None:
    """A plan output as the tool writes it (manifest.json with its "outputs" list)."""
    with atomic_output_dir(folder, known=OUTPUT_FILES) as stage:
        (stage / "manifest.json").write_text(json.dumps({"manifest_version": 1}))
        for rel, text in files.items():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            (stage / rel).write_text(text)


def fail_while_writing(folder: Path, error: BaseException) -> None:
    with atomic_output_dir(folder, known=OUTPUT_FILES) as stage:
        (stage / "posts.csv").write_text("half")
        raise error


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_new_folder_is_created_with_a_manifest_listing_every_output(tmp_path: Path) -> None:
    out = tmp_path / "a" / "out"
    write_plan(out, {"posts.csv": "p", "partner/partner.csv": "q"})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["outputs"] == ["manifest.json", "partner/partner.csv", "posts.csv"]
    assert sorted(tree(out)) == manifest["outputs"]
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["out"]  # no staging left beside


def test_an_empty_folder_is_written_in_place(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    inode = out.stat().st_ino
    write_plan(out, {"posts.csv": "p"})
    assert sorted(tree(out)) == ["manifest.json", "posts.csv"]
    assert out.stat().st_ino == inode
    assert hidden(out) == []


def test_a_folder_of_the_users_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "drafts").mkdir()
    (out / "drafts" / "a.docx").write_text("draft")
    ran = []
    with pytest.raises(OutputFolderError) as caught, atomic_output_dir(out) as _stage:
        ran.append(True)
    message = str(caught.value)
    assert str(out) in message
    assert "'drafts/a.docx', 'notes.txt'" in message
    assert "choose a new or empty folder" in message
    assert not ran
    assert tree(out) == {"notes.txt": b"mine", "drafts/a.docx": b"draft"}
    assert hidden(out) == []
    assert [p.name for p in tmp_path.iterdir()] == ["thesis"]


def test_a_previous_plan_is_replaced_keeping_the_planners_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    write_plan(out, {"posts.csv": "old", "comparison.csv": "old", "partner/partner.csv": "old"})
    (out / "notes.txt").write_text("planner")
    (out / "partner" / "call list.txt").write_text("planner")
    (out / "maps").mkdir()
    (out / "maps" / "ward.pdf").write_text("planner")
    with caplog.at_level(logging.WARNING, logger="safepassage"):
        write_plan(out, {"posts.csv": "new", "roster.csv": "new"})
    assert tree(out) == {
        "manifest.json": (out / "manifest.json").read_bytes(),
        "maps/ward.pdf": b"planner",
        "notes.txt": b"planner",
        "partner/call list.txt": b"planner",
        "posts.csv": b"new",
        "roster.csv": b"new",
    }
    outputs = json.loads((out / "manifest.json").read_text())["outputs"]
    assert outputs == ["manifest.json", "posts.csv", "roster.csv"]
    assert hidden(out) == []
    assert "'maps/ward.pdf', 'notes.txt', 'partner/call list.txt'" in caplog.text


def test_the_tools_emptied_subfolder_goes_with_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_plan(out, {"posts.csv": "old", "partner/partner.csv": "old"})
    write_plan(out, {"posts.csv": "new"})
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "posts.csv"]


@pytest.mark.parametrize("error", [RuntimeError("stage failed"), KeyboardInterrupt()])
def test_a_failed_run_leaves_the_previous_plan_byte_identical(
    tmp_path: Path, error: BaseException
) -> None:
    out = tmp_path / "out"
    write_plan(out, {"posts.csv": "old"})
    (out / "notes.txt").write_text("planner")
    before = tree(out)
    with pytest.raises(type(error)):
        fail_while_writing(out, error)
    assert tree(out) == before
    assert hidden(out) == []
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failed_run_into_a_new_folder_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        fail_while_writing(tmp_path / "fresh", KeyboardInterrupt())
    assert list(tmp_path.iterdir()) == []


def test_the_working_directory_is_replaced_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_plan(out, {"posts.csv": "old"})
    (out / "notes.txt").write_text("planner")
    inode = out.stat().st_ino
    monkeypatch.chdir(out)
    write_plan(".", {"posts.csv": "new"})
    assert Path.cwd().stat().st_ino == inode == out.stat().st_ino  # the shell's folder lives on
    assert tree(out)["posts.csv"] == b"new"
    assert tree(out)["notes.txt"] == b"planner"
    assert hidden(out) == []
    write_plan("", {"posts.csv": "newer"})  # Path("") is "." too
    assert tree(out)["posts.csv"] == b"newer"


def test_a_users_file_where_a_new_output_may_go_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_plan(out, {"posts.csv": "old"})  # this plan wrote no comparison.csv ...
    (out / "comparison.csv").write_text("the planner's own")  # ... the planner did
    with pytest.raises(OutputFolderError, match=r"'comparison\.csv'.*move them elsewhere"):
        check_output_folder(out)
    assert (out / "comparison.csv").read_text() == "the planner's own"


def test_a_manifest_of_an_earlier_version_owns_the_known_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "partner").mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps({"manifest_version": 1, "seed": 1}))
    for rel in ("posts.csv", "map.html", "partner/posts_V1.pdf", "notes.txt"):
        (out / rel).write_text("old")
    found = check_output_folder(out)
    assert found.owned == {"manifest.json", "posts.csv", "map.html", "partner/posts_V1.pdf"}
    assert found.kept == ("notes.txt",)


def test_a_manifest_naming_paths_outside_the_folder_removes_nothing_there(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "precious.txt").write_text("keep")
    listed = ["manifest.json", "../precious.txt", str(tmp_path / "precious.txt")]
    (out / "manifest.json").write_text(json.dumps({"manifest_version": 1, "outputs": listed}))
    write_plan(out, {"posts.csv": "new"})
    assert (tmp_path / "precious.txt").read_text() == "keep"


def test_a_file_is_refused_as_output_folder(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("not a folder")
    with pytest.raises(OutputFolderError, match="is an existing file; choose a folder path"):
        check_output_dir(target)
    assert target.read_text() == "not a folder"


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_staging_folders_of_a_killed_run_are_removed_next_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_plan(out, {"posts.csv": "old"})
    marker = json.dumps({"pid": dead_pid(), "host": os.uname().nodename})
    beside, inside = tmp_path / ".out.tmp-k1ll3d", out / ".safepassage-tmp-k1ll3d"
    for folder in (beside, inside):
        folder.mkdir()
        (folder / ".safepassage-staging").write_text(marker)
        (folder / "posts.csv").write_text("half")
    unmarked = tmp_path / ".out.tmp-not-ours"
    unmarked.mkdir()
    alive = tmp_path / ".out.tmp-running"
    alive.mkdir()
    (alive / ".safepassage-staging").write_text(
        json.dumps({"pid": os.getppid(), "host": os.uname().nodename})
    )
    found = check_output_folder(out)
    assert not beside.exists()
    assert not inside.exists()
    assert unmarked.exists()
    assert alive.exists()
    assert found.kept == ()


# ----------------------------------------------------------------------------- CLI


def test_cli_refuses_a_users_folder_before_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "walk.graphml").write_text("<graphml/>")
    (tmp_path / "schools.csv").write_text("SCHOOL_ID,SCHOOL_NM,X,Y\n609791,BASS,-87.6,41.7\n")
    config = tmp_path / "plan.toml"
    config.write_text('[data]\nnetworks = ["walk.graphml"]\nschools = "schools.csv"\n')
    out = tmp_path / "notes"
    out.mkdir()
    (out / "meeting.txt").write_text("mine")
    calls: list[Any] = []
    module = types.ModuleType("safepassage.pipeline")
    module.plan = lambda *a, **k: calls.append(a)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "safepassage.pipeline", module)
    assert main(["plan", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: output folder {out} is not empty")
    assert "'meeting.txt'" in err
    assert "Traceback" not in err
    assert calls == []
    assert tree(out) == {"meeting.txt": b"mine"}


def test_version_names_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"safepassage {importlib.metadata.version('safepassage')}\n"


def test_version_falls_back_to_the_module_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert version() == __version__
