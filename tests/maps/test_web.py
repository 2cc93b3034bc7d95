"""Web maps: escaping, layers, corridor kinds, route review, privacy of origins, offline HTML."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from safepassage.errors import DataError, SafePassageError
from safepassage.maps import plan_map, save_map
from safepassage.maps.web import risk_breaks

from .conftest import (
    EVIL_DESCRIPTION,
    EVIL_NAME,
    EVIL_STREET,
    RISKIEST_X,
    SMALL_ORIGIN_XY,
    X0,
    Y0,
    Plan,
)

EXTERNAL = re.compile(r"<(script|link)\b[^>]*(src|href)=[\"']?(https?:)?//", re.IGNORECASE)
ESCAPED_NAME = "&lt;script&gt;alert(1)&lt;/script&gt;"


def collections(page: str) -> list[list[dict[str, Any]]]:
    """The features of each ``L.geoJSON(...)`` call of the page (one per layer)."""
    decoder = json.JSONDecoder()
    return [
        decoder.raw_decode(page, match.end())[0]["features"]
        for match in re.finditer(r"L\.geoJSON\(", page)
    ]


def features(page: str) -> list[dict[str, Any]]:
    """Every GeoJSON feature the page draws."""
    return [feature for collection in collections(page) for feature in collection]


def with_tip(page: str, text: str) -> list[dict[str, Any]]:
    return [f for f in features(page) if text in f["properties"].get("tip", "")]


def overlays(page: str) -> list[str]:
    """Names of the layer switcher's overlays, as written in the page."""
    control = page[page.index("overlays :") :]
    return re.findall(r'^\s*"(.*)" : feature_group_', control[: control.index("}")], re.M)


def groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {
        child.layer_name: child
        for child in m._children.values()
        if isinstance(child, folium.FeatureGroup)
    }


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


def test_map_has_every_layer_in_the_layer_switcher_once(page: str) -> None:
    assert overlays(page) == [
        "Streets",
        "Street risk \\u2014 morning (am)",
        "Street risk \\u2014 afternoon (pm)",
        "Uncovered streets",
        "Corridors",
        "Route review",
        "Candidate posts (not chosen)",
        "Student origins (aggregated)",
        "Posts",
        "Schools",
    ]


def test_all_schools_corridors_share_one_layer_with_a_colour_each(page: str) -> None:
    kinds = ("designated route", "designed corridor")
    (corridors,) = [
        c for c in collections(page) if any(k in f["properties"]["tip"] for f in c for k in kinds)
    ]
    assert sorted(f["properties"]["tip"].split(" ")[0] for f in corridors) == ["R1", "R2"]
    assert len({f["properties"]["style"]["color"] for f in corridors}) == 2
    legend = page[page.index("div.innerHTML") :]
    assert ESCAPED_NAME in legend
    assert "Hope &amp; Unity Elementary" in legend


def test_designed_corridors_are_dashed_and_designated_routes_solid(page: str) -> None:
    corridors = [
        f
        for f in features(page)
        if "designated route" in f["properties"].get("tip", "")
        or "designed corridor" in f["properties"].get("tip", "")
    ]
    dashed = {
        f["properties"]["tip"].split(" ")[0]
        for f in corridors
        if "dashArray" in f["properties"]["style"]
    }
    assert dashed == {"R2"}  # R2 is designed, R1 designated
    (r1,) = [f for f in corridors if f["properties"]["tip"].startswith("R1 ")]
    assert "designated route" in r1["properties"]["popup"]
    assert "Matched onto the streets: 97%" in r1["properties"]["popup"]


def test_legend_tells_designated_from_designed_and_names_the_review_lines(page: str) -> None:
    legend = page[page.index("div.innerHTML") :]
    for text in (
        "designated route",
        "designed corridor",
        "stroke-dasharray",
        "Riskiest stretch of a route",
        "Proposed extension",
        "Walked off every designated route",
    ):
        assert text in legend, text


def test_risk_windows_are_exclusive(page: str) -> None:
    assert 'map.on("overlayadd"' in page
    am, pm = (
        re.search(rf'"Street risk \\u2014 {w}" : (feature_group_\w+)', page).group(1)  # type: ignore[union-attr]
        for w in ("morning \\(am\\)", "afternoon \\(pm\\)")
    )
    group = re.search(r"var group = \[([^\]]*)\]", page)
    assert group is not None
    assert group.group(1).split(", ") == [am, pm]


def test_popups_name_the_school_escaped(page: str) -> None:
    popups = [f["properties"].get("popup", "") for f in features(page)]
    post_p1 = next(p for p in popups if p.startswith("<b>Post P1</b>"))
    assert f"School: {ESCAPED_NAME}" in post_p1
    post_p4 = next(p for p in popups if p.startswith("<b>Post P4</b>"))
    assert "School: Hope &amp; Unity Elementary" in post_p4
    route_r2 = next(p for p in popups if p.startswith("<b>Route R2</b>"))
    assert "designed corridor<br>Hope &amp; Unity Elementary" in route_r2
    school = next(p for p in popups if "School id: S1" in p)
    assert school.startswith(f"<b>{ESCAPED_NAME}</b>")


def test_riskiest_stretch_is_drawn_along_its_edges_with_the_review(plan: Plan, page: str) -> None:
    (stretch,) = with_tip(page, "Riskiest stretch of route R1")
    lon = np.array([xy[0] for line in stretch["geometry"]["coordinates"] for xy in line])
    ends = gpd.GeoSeries([shapely.Point(x, Y0) for x in RISKIEST_X], crs=plan.network.crs).to_crs(
        4326
    )
    assert np.allclose(sorted({lon.min(), lon.max()}), ends.x.to_numpy(), atol=2e-5)
    popup = stretch["properties"]["popup"]
    for text in (
        ESCAPED_NAME,
        "E-W 0 between N-S 1 and N-S 2",
        "97%",
        "<td>AM</td><td>110</td><td>2.50</td>",
    ):
        assert text in popup, text


def test_uncovered_streets_and_extensions_have_escaped_tips(page: str) -> None:
    assert EVIL_STREET not in page
    assert EVIL_DESCRIPTION not in page
    (street,) = with_tip(page, "uncovered exposure")
    tip = street["properties"]["tip"]
    assert tip.startswith("&lt;script&gt;alert(&#x27;street&#x27;)&lt;/script&gt;: ")
    assert "12.00 am, 15.00 pm" in tip  # summed over the street's two segments
    (extension,) = with_tip(page, "Proposed extension")
    assert "&lt;img src=x onerror=alert(2)&gt;" in extension["properties"]["tip"]
    assert "dashArray" in extension["properties"]["style"]
    assert "Gain per km: 55.00" in extension["properties"]["popup"]


def test_uncovered_streets_are_hidden_and_the_review_shown_at_first(plan: Plan) -> None:
    layers = groups(plan_map(plan, self_contained=True))
    assert not layers["Uncovered streets"].show
    assert layers["Route review"].show


def test_review_layer_is_absent_without_a_review(plan: Plan) -> None:
    bare = dataclasses.replace(plan, review=None, uncovered=None, extensions=None)
    m = plan_map(bare, self_contained=True)
    assert "Route review" not in groups(m)
    assert "Uncovered streets" not in groups(m)
    page = m.get_root().render()
    assert "Riskiest stretch" not in page
    assert "Proposed extension" not in page


def test_review_layer_of_a_school_without_review_rows_is_hidden(plan: Plan) -> None:
    layers = groups(plan_map(plan, ["S2"], self_contained=True))
    assert not layers["Route review"].show
    assert "Riskiest stretch" not in plan_map(plan, ["S2"]).get_root().render()


def test_review_edge_ids_outside_the_network_raise(plan: Plan) -> None:
    review = plan.review.copy()  # type: ignore[union-attr]
    review["riskiest_edge_ids"] = [[len(plan.network.edges)]]
    with pytest.raises(DataError, match="R1"):
        plan_map(dataclasses.replace(plan, review=review))


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


def test_names_like_template_syntax_are_written_as_they_are(plan: Plan) -> None:
    schools = plan.schools.assign(name=["{{ 7 * 7 }} Academy", "{% raw %}Hope"])
    html = plan_map(dataclasses.replace(plan, schools=schools)).get_root().render()
    assert html.count("{{ 7 * 7 }} Academy") >= 3  # popups, tips and the legend
    assert "49 Academy" not in html
    assert "{% raw %}Hope" in html


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


def test_online_map_with_a_key_has_carto_positron_tiles_and_attribution(plan: Plan) -> None:
    html = plan_map(plan, carto_api_key="k&1").get_root().render()
    assert "basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png?key=k%261" in html
    assert "carto.com/attributions" in html
    assert "tile.openstreetmap.org" not in html


def test_online_map_without_a_key_has_greyed_osm_tiles_and_optional_streets(plan: Plan) -> None:
    m = plan_map(plan)
    html = m.get_root().render()
    assert "tile.openstreetmap.org" in html
    assert '"className": "sp-grey-tiles"' in html
    assert "cartocdn" not in html
    assert not groups(m)["Streets"].show


def test_offline_map_requests_no_tiles_and_draws_the_streets(plan: Plan, page: str) -> None:
    assert "L.tileLayer(" not in page
    assert "cartocdn" not in page
    assert "tile.openstreetmap.org" not in page
    assert groups(plan_map(plan, self_contained=True))["Streets"].show


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
