"""The self-contained map renders in headless Chromium with no internet and no script errors."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any

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


# Switches a risk window on in the layer switcher, as a user would, then records
# which risk layers are on the map, how many of their lines are in the page, and
# how many of those are outside the context pane (below corridors and posts).
CLICK_WINDOW = """<script>
window.addEventListener("load", function () {
  var states = [];
  function risk(word) {
    return Array.from(document.querySelectorAll(".leaflet-control-layers-overlays label"))
      .find(function (label) { return label.textContent.indexOf(word) >= 0; });
  }
  function paths(group) {
    var found = [];
    group.eachLayer(function (g) {
      g.eachLayer(function (l) { if (l._path && l._path.isConnected) { found.push(l._path); } });
    });
    return found;
  }
  function record() {
    var both = paths(AM).concat(paths(PM));
    states.push({am: paths(AM).length, pm: paths(PM).length, checked: ["morning", "afternoon"]
      .filter(function (w) { return risk(w).querySelector("input").checked; }),
      elsewhere: both.filter(function (p) { return !p.closest(".leaflet-sp-context-pane"); })
      .length});
    document.body.setAttribute("data-states", JSON.stringify(states));
  }
  setTimeout(function () {
    record();
    risk("afternoon").querySelector("input").click();
    setTimeout(function () {
      record();
      risk("morning").querySelector("input").click();
      setTimeout(record, 100);
    }, 100);
  }, 100);
});
</script>"""


def _with_clicks(page: Path, target: Path) -> Path:
    text = page.read_text(encoding="utf-8")
    am, pm = (
        re.search(rf'"Street risk \\u2014 {w}" : (feature_group_\w+)', text).group(1)  # type: ignore[union-attr]
        for w in (r"morning \(am\)", r"afternoon \(pm\)")
    )
    script = CLICK_WINDOW.replace("AM", am).replace("PM", pm)
    target.write_text(text.replace("</html>", script + "</html>"), encoding="utf-8")
    return target


def test_switching_a_risk_window_on_switches_the_other_off(page: Path, tmp_path: Path) -> None:
    run = _chromium(
        _with_clicks(page, tmp_path / "clicks.html"), tmp_path / "profile", "--dump-dom"
    )
    assert "Uncaught" not in run.stderr, run.stderr[-2000:]
    found = re.search(r'data-states="([^"]*)"', run.stdout)
    assert found is not None, run.stderr[-2000:]
    states: list[dict[str, Any]] = json.loads(html.unescape(found.group(1)))
    # (am lines drawn, pm lines drawn, risk boxes ticked): at first, after pm on, after am on
    assert [(s["am"] > 0, s["pm"] > 0, s["checked"]) for s in states] == [
        (True, False, ["morning"]),
        (False, True, ["afternoon"]),
        (True, False, ["morning"]),
    ]
    assert [s["elsewhere"] for s in states] == [0, 0, 0]  # never drawn over corridors


def test_offline_map_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "map.png"
    run = _chromium(page, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.exists(), run.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[:2] == (900, 1200)
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # a blank page (Leaflet failed to load) has a handful
