"""The self-contained map renders in headless Chromium with no internet and no script errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from safepassage.maps import plan_map, save_map

from .conftest import Plan

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs headless chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


def _chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,900",
        "--virtual-time-budget=5000",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


@pytest.fixture(scope="module")
def page(plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_map(plan_map(plan, self_contained=True), tmp_path_factory.mktemp("b") / "m.html")


def test_offline_map_builds_leaflet_panes_and_svg_paths(page: Path, tmp_path: Path) -> None:
    run = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Uncaught" not in run.stderr, run.stderr[-2000:]
    assert "leaflet-pane" in run.stdout
    assert run.stdout.count("<path") >= 10  # streets, risk classes, corridors, posts
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in run.stdout  # shown as text


def test_offline_map_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "map.png"
    run = _chromium(page, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.exists(), run.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[:2] == (900, 1200)
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # a blank page (Leaflet failed to load) has a handful
