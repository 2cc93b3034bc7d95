"""Ctrl-C and SIGTERM end ``safepassage plan`` cleanly at any stage (subprocess tests).

Each run plans Englewood schools of the example into a folder that holds a
previous plan, is signalled once the log says a stage started, and must exit 130
with the promised message, leaving the previous plan byte-identical and no
staging folder beside or inside it.  The seconds from the signal to the exit are
printed (``pytest -s``); only a generous timeout is asserted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "data" / "examples"
SCHOOLS = ("609707", "609768", "609711")  # Robeson HS, Hope HS, Harper HS
MESSAGE = "interrupted; earlier outputs untouched"
TIMEOUT_S = 300  # a whole plan on a loaded machine; never reached when all is well


def write_config(folder: Path, *, time_limit_s: int, all_schools: bool = False) -> Path:
    """The Englewood example (for three schools unless ``all_schools``, then rostered
    with CP-SAT), in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("vendors.csv", "workers.csv"):
        shutil.copy(EXAMPLES / name, folder / name)
    text = (EXAMPLES / "englewood.toml").read_text()
    text = re.sub(r"(?m)^time_limit_s = .*$", f"time_limit_s = {time_limit_s}", text)
    if all_schools:  # CP-SAT, not the default's greedy: a roster solve long enough to interrupt
        text = re.sub(r"(?m)^(time_limit_s = .*)$", r'\1\nmethod = "cp-sat"', text)
    ids = ", ".join(f'"{s}"' for s in SCHOOLS)
    if not all_schools:
        year = 'safe_passage_year = "SY1617"'
        text = text.replace(year, f"{year}\nids = [{ids}]")
    path = folder / "plan.toml"
    path.write_text(text)
    return path


class Run:
    """``python -m safepassage plan`` in a subprocess, its stderr collected as it comes."""

    def __init__(self, config: Path, out: str, cwd: Path, data_root: Path, *args: str) -> None:
        env = dict(os.environ, SAFEPASSAGE_DATA=str(data_root))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "safepassage", "plan", str(config), "--out", out, *args]
        self.proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.err = self.out = ""
        self._readers = [
            threading.Thread(target=self._read, args=(name,), daemon=True)
            for name in ("out", "err")
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str) -> None:
        stream = self.proc.stdout if name == "out" else self.proc.stderr
        assert stream is not None
        for line in stream:
            setattr(self, name, getattr(self, name) + line)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while text not in self.err:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                self.finish()
                pytest.fail(f"{text!r} never appeared in the log:\n{self.err[-3000:]}")
            time.sleep(0.02)

    def finish(self) -> int:
        code = self.proc.wait(timeout=TIMEOUT_S)
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def staging_left(folder: Path) -> list[str]:
    beside = [p.name for p in folder.parent.glob(f".{folder.name}.*")]
    inside = [p.name for p in folder.glob(".safepassage-*")]
    return beside + inside


@pytest.fixture(scope="module")
def previous_plan(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole plan written by the CLI to a relative --out (a new folder)."""
    base = tmp_path_factory.mktemp("previous")
    config = write_config(base / "config", time_limit_s=20)
    run = Run(config, "plan", base, data_root, "--quiet")
    assert run.finish() == 0, run.err
    return base / "plan"


def test_a_plan_folder_lists_its_outputs_and_every_input(previous_plan: Path) -> None:
    manifest = json.loads((previous_plan / "manifest.json").read_text())
    assert manifest["outputs"] == sorted(snapshot(previous_plan))
    hashed = {Path(i["path"]).name for i in manifest["inputs"]}
    assert {"community_areas.geojson.gz", "vendors.csv", "workers.csv"} <= hashed
    assert {"numba", "pyogrio", "pyproj", "matplotlib"} <= set(manifest["versions"])


@pytest.mark.parametrize(
    ("stage", "signum", "workers"),
    [
        ("origins", signal.SIGINT, 1),
        ("routes", signal.SIGINT, 2),  # the routes run in worker processes
        ("roster", signal.SIGINT, 1),
        ("roster", signal.SIGTERM, 1),
    ],
)
def test_an_interrupt_leaves_the_previous_plan_untouched(
    previous_plan: Path,
    data_root: Path,
    tmp_path: Path,
    stage: str,
    signum: signal.Signals,
    workers: int,
) -> None:
    out = tmp_path / "out"
    shutil.copytree(previous_plan, out)
    (out / "notes.txt").write_text("the planner's notes")
    before = snapshot(out)
    # all 15 schools and a long limit: the roster solve takes several seconds
    config = write_config(tmp_path / "config", time_limit_s=600, all_schools=stage == "roster")
    run = Run(config, str(out), tmp_path, data_root, "--workers", str(workers))
    run.wait_for(f"{stage} started")
    if stage == "roster":
        time.sleep(1.0)  # well inside the CP-SAT solve
    sent = time.perf_counter()
    run.proc.send_signal(signum)
    code = run.finish()
    took = time.perf_counter() - sent
    reached = [line.split(": ", 1)[1] for line in run.err.splitlines() if " done in " in line]
    print(f"\n{stage} {signum.name}: exited {took:.2f} s after the signal; finished: {reached}")
    assert code == 130, run.err
    if stage == "roster":  # the shorter stages may have ended before the signal arrived
        assert "roster done" not in run.err
    assert run.err.rstrip().endswith(MESSAGE)
    assert "Traceback" not in run.err
    assert "outputs written" not in run.err
    assert snapshot(out) == before
    assert staging_left(out) == []


def test_plan_onto_the_working_directory_replaces_the_previous_plan(
    previous_plan: Path, data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(previous_plan, out)
    (out / "notes.txt").write_text("the planner's notes")
    old_manifest = (out / "manifest.json").read_bytes()
    config = write_config(tmp_path / "config", time_limit_s=20)
    run = Run(config, ".", out, data_root, "--quiet")
    assert run.finish() == 0, run.err
    assert (out / "notes.txt").read_text() == "the planner's notes"
    assert "'notes.txt'" in run.err  # the warning names the kept file
    assert (out / "manifest.json").read_bytes() != old_manifest
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["outputs"]) == sorted(set(snapshot(out)) - {"notes.txt"})
    assert staging_left(out) == []


def test_plan_refuses_a_folder_of_the_users_before_planning(
    data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.md").write_text("mine")
    config = write_config(tmp_path / "config", time_limit_s=20)
    run = Run(config, str(out), tmp_path, data_root)
    assert run.finish() == 2
    assert "'chapter1.md'" in run.err
    assert "network started" not in run.err  # no planning happened
    assert snapshot(out) == {"chapter1.md": b"mine"}
    assert staging_left(out) == []
