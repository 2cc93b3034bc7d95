"""Web maps: escaping, layers, privacy of origins, offline HTML, size."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from safepassage.errors import DataError, SafePassageError
from safepassage.maps import plan_map, save_map
from safepassage.maps.web import risk_breaks

from .conftest import EVIL_NAME, SMALL_ORIGIN_XY, X0, Y0, Plan

EXTERNAL = re.compile(r"<(script|link)\b[^>]*(src|href)=[\"']?(https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def page(plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = save_map(plan_map(plan, self_contained=True), tmp_path_factory.mktemp("web") / "m.html")
    return path.read_text(encoding="utf-8")


def test_school_named_like_a_script_appears_escaped_never_raw(page: str) -> None:
    assert EVIL_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_worker_id_with_ampersand_is_escaped_in_the_post_popup(page: str) -> None:
    assert "W&amp;1" in page
    assert '"W&1' not in page
    assert " W&1" not in page


def test_map_has_every_layer_in_the_layer_switcher(page: str) -> None:
    control = page[page.index("base_layers") :]
    for name in (
        "Streets",
        "Corridors \\u2014 Hope \\u0026amp; Unity Elementary",
        "Street risk \\u2014 morning (am)",
        "Street risk \\u2014 afternoon (pm)",
        "Candidate posts (not chosen)",
        "Student origins (aggregated)",
        "Posts",
        "Schools",
    ):
        assert f'"{name}"' in control, name


def test_map_has_a_legend_with_risk_classes(page: str) -> None:
    assert "sp-legend" in page
    assert "weighted incidents / km / yr" in page


def test_origins_below_min_students_are_absent(plan: Plan, page: str) -> None:
    lonlat = (
        gpd.GeoSeries([shapely.Point(SMALL_ORIGIN_XY)], crs=plan.network.crs).to_crs(4326).iloc[0]
    )
    assert f"{lonlat.x:.5f}"[:-1] not in page  # not even near the small origin's longitude
    assert "25 students" in page
    assert "3 students" not in page


def test_self_contained_html_links_no_external_script_or_stylesheet(page: str) -> None:
    assert not EXTERNAL.search(page)
    assert "jquery" not in page.lower()


def test_self_contained_html_inlines_leaflet(page: str) -> None:
    assert "Leaflet 1.9.4" in page
    assert "leaflet-control-layers" in page  # the inlined stylesheet


def test_fixture_map_is_small(page: str) -> None:
    # Leaflet itself is about 160 kB of it
    assert len(page.encode("utf-8")) < 300_000


def test_save_map_replaces_the_file_and_leaves_no_temporary_file(
    plan: Plan, tmp_path: Path
) -> None:
    target = tmp_path / "m.html"
    target.write_text("old")
    save_map(plan_map(plan, ["S2"], self_contained=True), target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]


def test_school_subset_shows_only_that_school(plan: Plan) -> None:
    html = plan_map(plan, ["S2"]).get_root().render()
    assert "Hope &amp; Unity Elementary" in html
    assert "alert(1)" not in html
    assert "P4" in html
    assert "P1" not in html


def test_unknown_school_id_raises_data_error_naming_it(plan: Plan) -> None:
    with pytest.raises(DataError, match="S9"):
        plan_map(plan, ["S9"])


def test_map_without_risk_origins_or_roster_still_builds(plan: Plan) -> None:
    bare = dataclasses.replace(plan, risk=None, origins=None, roster=None)
    html = plan_map(bare).get_root().render()
    assert "Street risk" not in html
    assert "Student origins" not in html


def test_incident_heat_layer_is_inlined_for_offline_use(plan: Plan, tmp_path: Path) -> None:
    xy = np.array([[X0 + 50, Y0 + 50], [X0 + 150, Y0 + 60], [X0 + 9_000, Y0]])
    incidents = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=plan.network.crs).to_crs(4326)
    m = plan_map(plan, incidents=incidents, self_contained=True)
    html = save_map(m, tmp_path / "heat.html").read_text(encoding="utf-8")
    assert "Incidents (heat)" in html
    assert "simpleheat" in html  # leaflet.heat inlined
    assert html.count("L.heatLayer(") == 1
    assert not EXTERNAL.search(html)


def test_incidents_without_crs_raise(plan: Plan) -> None:
    incidents = gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0)])
    with pytest.raises(DataError, match="no CRS"):
        plan_map(plan, incidents=incidents)


def test_page_calling_jquery_cannot_be_made_self_contained(plan: Plan, tmp_path: Path) -> None:
    m = plan_map(plan, self_contained=True)
    folium.Marker([41.8, -87.6], popup=folium.Popup("hi")).add_to(m)
    with pytest.raises(SafePassageError, match="jQuery"):
        save_map(m, tmp_path / "x.html")
    assert not list(tmp_path.iterdir())


def test_online_map_keeps_web_tiles(plan: Plan) -> None:
    html = plan_map(plan).get_root().render()
    assert "tile.openstreetmap.org" in html


def test_risk_breaks_are_ascending_quantiles_of_positive_values() -> None:
    values = np.concatenate([np.zeros(50), np.arange(1.0, 101.0)])
    assert risk_breaks(values) == [21.0, 41.0, 60.0, 80.0]
    assert risk_breaks(np.zeros(3)) == []


def test_risk_layer_leaves_out_alleys() -> None:
    import networkx as nx
    import pandas as pd

    from safepassage.maps.layers import risk_layer
    from safepassage.routes.network import WalkNetwork

    graph = nx.MultiDiGraph(crs="EPSG:26916")
    for i in range(3):
        graph.add_node(i, x=440_000.0 + 100 * i, y=4_630_000.0)
    graph.add_edge(0, 1, length=100.0, highway="residential", name="Main St")
    graph.add_edge(1, 2, length=100.0, highway="service", name="Back Alley")
    net = WalkNetwork.from_graph(graph)
    risk = pd.DataFrame({"edge_id": [0, 1], "window": "am", "risk": [10.0, 50.0]})

    def rendered(streets_only: bool) -> str:
        page = folium.Map(location=[41.8, -87.6], tiles=None)
        risk_layer(net, risk, "am", breaks=[5.0, 20.0], streets_only=streets_only).add_to(page)
        return str(page.get_root().render())

    assert rendered(True).count("LineString") < rendered(False).count("LineString")
