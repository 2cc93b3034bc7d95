"""Downloads, tested offline: recorded responses through an opener or osmnx's HTTP calls."""

from __future__ import annotations

import gzip
import io
import json
import logging
import shutil
import socket
import time
import types
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import osmnx
import pandas as pd
import pytest
import requests
import shapely

from safepassage import fetch
from safepassage.cli import main
from safepassage.config import load_config
from safepassage.errors import DataError, OutputFolderError
from safepassage.fetch import (
    PLACE_FILES,
    PORTAL_DATASETS,
    FetchedPlace,
    FetchError,
    PlaceError,
    area_slug,
    fetch_area,
    fetch_place,
    fetch_portal_dataset,
    parse_bbox,
    school_points,
)
from safepassage.routes.network import WalkNetwork
from safepassage.validate import validate_inputs

RECORDED = Path(__file__).parent / "fixtures" / "socrata_schools_sample.csv"


class Recorded(io.BytesIO):
    """A replayed HTTP response: a byte stream with a status, usable as a context manager."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        super().__init__(body)
        self.status = status


class Opener:
    """Replays the recorded CSV for every URL and remembers the URLs asked for."""

    def __init__(self, status: int = 200) -> None:
        self.urls: list[str] = []
        self.status = status

    def __call__(self, url: str, timeout: float) -> Recorded:
        self.urls.append(url)
        return Recorded(RECORDED.read_bytes(), self.status)


def tiny_graph(place: str, network_type: str) -> nx.MultiDiGraph:
    """What osmnx.graph_from_place would return for a two-node street."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_node(1, x=-87.6455, y=41.7733, street_count=1)
    graph.add_node(2, x=-87.6444, y=41.7733, street_count=1)
    graph.add_edge(1, 2, osmid=10, highway="residential", name="W 63rd St", length=91.0)
    graph.add_edge(2, 1, osmid=10, highway="residential", name="W 63rd St", length=91.0)
    return graph


def test_portal_download_writes_the_recorded_csv(tmp_path: Path) -> None:
    opener = Opener()
    dest = fetch_portal_dataset("75e5-35kf", tmp_path / "schools.csv", opener=opener, check=False)
    assert dest.read_bytes() == RECORDED.read_bytes()
    assert opener.urls[0].startswith("https://data.cityofchicago.org/resource/75e5-35kf.csv?")
    assert [p.name for p in tmp_path.iterdir()] == ["schools.csv"]


def test_portal_http_error_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="HTTP 503"):
        fetch_portal_dataset(
            "75e5-35kf", tmp_path / "s.csv", opener=Opener(status=503), check=False
        )
    assert list(tmp_path.iterdir()) == []


def test_fetch_area_caches_network_and_datasets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    places: list[str] = []

    def graph_from_place(place: str, network_type: str) -> nx.MultiDiGraph:
        places.append(place)
        return tiny_graph(place, network_type)

    monkeypatch.setattr(osmnx, "graph_from_place", graph_from_place)
    opener = Opener()
    files = fetch_area("West Englewood", tmp_path, crime_year=2016, opener=opener, check=False)
    assert places == ["West Englewood, Chicago, Illinois, USA"]
    assert set(files) == {"osm", *PORTAL_DATASETS}
    assert files["osm"] == tmp_path / "osm" / "west_englewood.graphml.gz"
    with gzip.open(files["osm"], "rt") as stream:
        assert "<graphml" in stream.read(2000)
    crimes = next(u for u in opener.urls if PORTAL_DATASETS["crimes"] in u)
    assert "year+%3D+2016" in crimes


def test_fetch_area_keeps_cached_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(osmnx, "graph_from_place", tiny_graph)
    fetch_area("Englewood", tmp_path, opener=Opener(), check=False)
    again = Opener()
    fetch_area("Englewood", tmp_path, opener=again, check=False)
    assert again.urls == []


def test_offline_fetch_fails_fast_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> socket.socket:
        raise OSError("Network is unreachable")

    def must_not_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("osmnx was called although the host check failed")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(osmnx, "graph_from_place", must_not_run)
    started = time.perf_counter()
    with pytest.raises(FetchError, match=r"cannot reach data\.cityofchicago\.org .*needs internet"):
        fetch_area("Englewood", tmp_path, opener=Opener())
    assert time.perf_counter() - started < 1.0
    assert list(tmp_path.iterdir()) == []


def restore_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() sets the package's log level; have monkeypatch restore it after the test."""
    package = logging.getLogger("safepassage")
    monkeypatch.setattr(package, "level", package.level)


def test_cli_fetch_offline_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    restore_log_level(monkeypatch)

    def no_network(*args: Any, **kwargs: Any) -> socket.socket:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(fetch.socket, "create_connection", no_network)
    assert main(["fetch", "Englewood", "--cache", str(tmp_path)]) == 2
    assert "error: cannot reach" in capsys.readouterr().err


def test_area_slug_makes_file_names() -> None:
    assert area_slug("West Englewood") == "west_englewood"
    assert area_slug("Englewood, Chicago, Illinois, USA") == "englewood"


# ----------------------------------------------------------------------------- any place
# osmnx runs for real on responses recorded in tests/fixtures/osm (see the README
# there); only requests.get/post and the DNS look-up are replaced.

OSM = Path(__file__).parent / "fixtures" / "osm"
PLACE = "Tinyville, Illinois"
WALK = OSM / "overpass_walk_tinyville.json"
SCHOOLS = OSM / "overpass_schools_tinyville.json"
NOMINATIM = OSM / "nominatim_search_tinyville.json"
TINY_BBOX = "-87.6500,41.7700,-87.6440,41.7740"


def http_response(url: str, body: bytes, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code, response.url, response.reason = status, url, "OK"
    response._content = body
    response.encoding = "utf-8"
    return response


class RecordedOSM:
    """Nominatim and Overpass as far as osmnx sees them: the recorded answers.

    ``places`` maps a geocoder query to its recorded answer (other queries find
    nothing); ``schools`` is the Overpass answer to the school query.  Every
    request is kept in ``requests`` as (method, host, query).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.places: dict[str, bytes] = {PLACE: NOMINATIM.read_bytes()}
        self.schools = SCHOOLS.read_bytes()
        self.requests: list[tuple[str, str, str]] = []
        self.lost: str | None = None  # a host whose connection drops on a query
        self.sleeps: list[float] = []
        # osmnx pauses between requests (1 s for Nominatim): count the pauses instead
        pause = types.SimpleNamespace(sleep=self.sleeps.append)
        monkeypatch.setattr(osmnx._nominatim, "time", pause)
        monkeypatch.setattr(osmnx._overpass, "time", pause)
        monkeypatch.setattr(requests, "get", self.get)
        monkeypatch.setattr(requests, "post", self.post)
        monkeypatch.setattr(socket, "gethostbyname", lambda host: "192.0.2.1")
        # osmnx pins the Overpass host's address by replacing getaddrinfo: undo it after
        monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", self.no_connection)

    @staticmethod
    def no_connection(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError("a test tried to open a network connection")

    def _answer(self, method: str, url: str, query: str, body: bytes) -> requests.Response:
        host = urllib.parse.urlparse(url).hostname or ""
        self.requests.append((method, host, query))
        if host == self.lost and method == "POST":
            request = requests.Request(method, url).prepare()
            raise requests.ConnectionError("Connection reset by peer", request=request)
        return http_response(url, body)

    def get(self, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        if url.endswith("/search"):
            query = str(params["q"])
            return self._answer("GET", url, query, self.places.get(query, b"[]"))
        if url.endswith("/api/status"):
            return self._answer("GET", url, "status", (OSM / "overpass_status.txt").read_bytes())
        raise AssertionError(f"unexpected GET {url}")

    def post(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        query = str(data["data"])
        if '["highway"]' in query:
            return self._answer("POST", url, query, WALK.read_bytes())
        if "'amenity'='school'" in query:
            return self._answer("POST", url, query, self.schools)
        raise AssertionError(f"unexpected Overpass query {query}")

    def sent(self, method: str) -> list[str]:
        return [query for m, _, query in self.requests if m == method]


@pytest.fixture
def osm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RecordedOSM:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # no file in the real cache
    return RecordedOSM(monkeypatch)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FetchedPlace, RecordedOSM]]:
    """Tinyville fetched once for the tests that only read it (fetching takes a second)."""
    folder = tmp_path_factory.mktemp("tinyville")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "xdg"))
        osm = RecordedOSM(monkeypatch)
        yield fetch_tiny(folder), osm


def fetch_tiny(tmp_path: Path, **kwargs: Any) -> FetchedPlace:
    options: dict[str, Any] = {"out": tmp_path / "tiny", "cache_dir": tmp_path / "cache"}
    return fetch_place(PLACE, check=False, **(options | kwargs))


def test_fetch_place_writes_the_network_and_the_schools(
    tiny: tuple[FetchedPlace, RecordedOSM],
) -> None:
    fetched = tiny[0]
    assert fetched.folder.name == "tiny"
    assert sorted(p.name for p in fetched.folder.iterdir()) == sorted(PLACE_FILES)
    assert fetched.place == "Tinyville, Cook County, Illinois, United States"
    # 3 x 3 grid: osmnx simplifies away the 4 corners and the mid-block nodes
    network = WalkNetwork.from_graphml(fetched.network)
    assert (fetched.street_nodes, len(network.nodes)) == (5, 5)
    assert {"West 60th Street", "South Oak Avenue"} <= set(network.edges["name"].dropna())
    schools = gpd.read_file(fetched.schools)
    assert schools.crs.to_epsg() == 4326
    assert list(schools["school_id"]) == ["osm-node-5001", "osm-node-5002", "osm-way-6001"]
    # no name in OSM: the id; node 5003 maps Oak High School a second time, inside its campus
    assert list(schools["name"]) == ["Maple Elementary School", "osm-node-5002", "Oak High School"]
    campus = schools.geometry.iloc[2]
    assert campus.x == pytest.approx(-87.6485, abs=1e-6)
    assert campus.y == pytest.approx(41.7730, abs=1e-6)
    assert fetched.school_count == 3
    record = json.loads((fetched.folder / "fetch.json").read_text(encoding="utf-8"))
    assert record["place"] == PLACE
    assert record["counts"]["schools"] == 3


def test_fetch_place_asks_the_geocoder_then_overpass_for_streets_and_schools(
    tiny: tuple[FetchedPlace, RecordedOSM],
) -> None:
    osm = tiny[1]
    assert osm.sent("GET") == [PLACE, "status", "status"]
    streets, schools = osm.sent("POST")
    assert '["highway"]["area"!~"yes"]' in streets  # osmnx's walk filter
    for kind in ("node", "way", "relation"):
        assert f"({kind}['amenity'='school']" in schools
    # the place's polygon, as the geocoder drew it, bounds the school query
    assert "(poly:'41.770000 -87.650000 41.770000 -87.644000 41.774000 -87.644000" in schools


def test_the_starter_config_loads_and_names_the_fetched_files(
    tiny: tuple[FetchedPlace, RecordedOSM],
) -> None:
    fetched = tiny[0]
    config = load_config(fetched.config)
    assert config.name == "tinyville"
    assert config.data.networks == (fetched.network,)
    assert config.data.schools is not None
    assert config.data.schools.path == fetched.schools
    assert config.data.incidents == ()
    assert config.data.population is None
    assert config.output.dir == fetched.folder / "out" / "tinyville"
    text = fetched.config.read_text(encoding="utf-8")
    for key in ("incidents", "blocks", "population", "designated_routes", "vendors", "workers"):
        assert f"\n# {key} = " in text  # where a planner adds it


def test_validate_finds_nothing_wrong_with_the_fetched_files(
    tiny: tuple[FetchedPlace, RecordedOSM],
) -> None:
    found = validate_inputs(load_config(tiny[0].config))
    assert list(found.schools["school_id"]) == ["osm-node-5001", "osm-node-5002", "osm-way-6001"]
    assert found.problems == []
    assert any(s.startswith("risk (no data.incidents)") for s in found.skipped)


def test_validate_passes_on_the_starter_config(
    tiny: tuple[FetchedPlace, RecordedOSM],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    restore_log_level(monkeypatch)
    assert main(["validate", str(tiny[0].config)]) == 0, capsys.readouterr().err


def test_the_starter_config_plans_end_to_end(tiny: tuple[FetchedPlace, RecordedOSM]) -> None:
    from safepassage.pipeline import plan

    # no incidents, no population: zero risk and enrollment spread along the streets
    result = plan(tiny[0].config)  # the network cache goes to the fixture's XDG_CACHE_HOME
    assert set(result.schools["school_id"]) <= {"osm-node-5001", "osm-node-5002", "osm-way-6001"}
    assert len(result.posts)
    assert set(result.corridors["school_id"]) == set(result.schools["school_id"])
    assert float(result.risk.table["risk_incidents"].sum()) == 0.0


def add_planner_data(folder: Path) -> None:
    """Add what OSM lacks to a fetched folder, as the starter config's comments say.

    Incidents along West 60th Street, four census blocks and their population.
    """
    pd.DataFrame(
        {
            "ID": range(1, 13),
            "Date": [f"0{1 + k % 9}/1{k % 9}/2016 07:15:00 AM" for k in range(12)],
            "Primary Type": ["BATTERY"] * 12,
            "Latitude": [41.77205] * 12,
            "Longitude": [-87.6490 + 0.0004 * k for k in range(12)],
        }
    ).to_csv(folder / "incidents.csv", index=False)
    west, south, east, north = parse_bbox(TINY_BBOX)
    mid_x, mid_y = (west + east) / 2, (south + north) / 2
    quarters = [(west, south), (mid_x, south), (west, mid_y), (mid_x, mid_y)]
    codes = [f"670100{1001 + q}" for q in range(4)]
    gpd.GeoDataFrame(
        {"tract_bloc": codes},
        geometry=[shapely.box(x, y, x + mid_x - west, y + mid_y - south) for x, y in quarters],
        crs=4326,
    ).to_file(folder / "blocks.geojson", driver="GeoJSON")
    pd.DataFrame({"CENSUS BLOCK": codes, "TOTAL POPULATION": [400, 300, 350, 500]}).to_csv(
        folder / "population.csv", index=False
    )
    config = folder / "plan.toml"
    text = config.read_text(encoding="utf-8")
    for commented, given in [
        ('# incidents = ["incidents.csv"]', 'incidents = ["incidents.csv"]'),
        ('# blocks = "census_blocks.geojson"', 'blocks = "blocks.geojson"'),
        ('# population = "block_population.csv"', 'population = "population.csv"'),
    ]:
        assert commented in text
        text = text.replace(commented, given)
    config.write_text(text, encoding="utf-8")


def test_with_incidents_and_population_added_the_fetched_place_plans(
    tiny: tuple[FetchedPlace, RecordedOSM], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safepassage.pipeline import plan

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the network cache
    folder = tmp_path / "tinyville"
    shutil.copytree(tiny[0].folder, folder)
    add_planner_data(folder)
    result = plan(folder / "plan.toml")
    assert sorted(result.schools["school_id"]) == [
        "osm-node-5001",
        "osm-node-5002",
        "osm-way-6001",
    ]
    assert result.metrics["schools_unsnapped"] == 0
    assert result.metrics["corridors_designed"] == 3
    assert result.metrics["posts_selected"] >= 1


def test_cli_fetch_place_prints_what_it_wrote(
    osm: RecordedOSM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    restore_log_level(monkeypatch)
    monkeypatch.setattr(fetch, "_check_reachable", lambda host, **kwargs: None)
    monkeypatch.chdir(tmp_path)
    assert main(["fetch", "--place", PLACE, "--cache", str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr().out
    assert f"into {tmp_path / 'tinyville'}" in printed  # the slug of the place
    assert "(5 nodes, 18 directed edges)" in printed
    assert "schools.geojson (3 schools)" in printed
    assert f"next: safepassage validate {tmp_path / 'tinyville' / 'plan.toml'}" in printed
    assert (tmp_path / "cache" / "osmnx").is_dir()  # osmnx's responses, not in ./cache
    assert not (tmp_path / "cache" / "osmnx").samefile(tmp_path / "tinyville")


@pytest.mark.parametrize(
    "bbox", [[f"--bbox={TINY_BBOX}"], ["--bbox", *TINY_BBOX.split(",")]], ids=["W,S,E,N", "W S E N"]
)
def test_cli_fetch_bbox_skips_the_geocoder(
    bbox: list[str],
    osm: RecordedOSM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    restore_log_level(monkeypatch)
    checked: list[str] = []
    monkeypatch.setattr(fetch, "_check_reachable", lambda host, **kwargs: checked.append(host))
    monkeypatch.chdir(tmp_path)
    assert main(["fetch", *bbox, "--cache", str(tmp_path / "cache")]) == 0
    assert checked == ["overpass-api.de"]
    assert osm.sent("GET") == ["status", "status"]  # no geocoder request
    folder = tmp_path / "bbox_-87.6500_41.7700_-87.6440_41.7740"
    assert load_config(folder / "plan.toml").name == folder.name
    assert len(gpd.read_file(folder / "schools.geojson")) == 3
    assert "the box -87.65,41.77,-87.644,41.774" in capsys.readouterr().out


def test_place_unknown_to_the_geocoder_is_named(osm: RecordedOSM, tmp_path: Path) -> None:
    with pytest.raises(PlaceError, match=r"'Nowhereville' not found by the Nominatim geocoder"):
        fetch_place("Nowhereville", out=tmp_path / "x", cache_dir=tmp_path / "c", check=False)
    assert not (tmp_path / "x").exists()
    assert osm.sent("POST") == []


def test_place_known_only_as_a_point_asks_for_an_area(osm: RecordedOSM, tmp_path: Path) -> None:
    answers = json.loads(NOMINATIM.read_text(encoding="utf-8"))
    osm.places["Tinyville"] = json.dumps(answers[1:]).encode()  # the village node only
    with pytest.raises(PlaceError, match="only as a point or a line"):
        fetch_place("Tinyville", out=tmp_path / "x", cache_dir=tmp_path / "c", check=False)
    assert not (tmp_path / "x").exists()


def test_place_without_schools_writes_nothing(osm: RecordedOSM, tmp_path: Path) -> None:
    empty = json.loads(SCHOOLS.read_text(encoding="utf-8")) | {"elements": []}
    osm.schools = json.dumps(empty).encode()
    with pytest.raises(PlaceError, match=r"no school \(amenity=school\) in Tinyville, Cook"):
        fetch_tiny(tmp_path)
    assert not (tmp_path / "tiny").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging


def test_offline_place_fetch_fails_fast_naming_the_host(
    osm: RecordedOSM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> socket.socket:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(FetchError, match=r"cannot reach nominatim\.openstreetmap\.org .*networks"):
        fetch_place(PLACE, out=tmp_path / "x", cache_dir=tmp_path / "c")
    with pytest.raises(FetchError, match=r"cannot reach overpass-api\.de"):
        fetch_place(bbox=(-87.65, 41.77, -87.644, 41.774), out=tmp_path / "x")
    assert osm.requests == []
    assert not (tmp_path / "x").exists()


def test_a_connection_lost_midway_names_the_host(osm: RecordedOSM, tmp_path: Path) -> None:
    osm.lost = "overpass-api.de"
    with pytest.raises(FetchError, match=r"walk network of .*cannot get an answer from overpass"):
        fetch_tiny(tmp_path)
    assert not (tmp_path / "tiny").exists()


def test_a_folder_of_the_users_is_refused_before_any_download(
    osm: RecordedOSM, tmp_path: Path
) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match=r"not written by safepassage fetch.*'notes\.txt'"):
        fetch_tiny(tmp_path)
    assert osm.requests == []
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_fetching_again_replaces_its_own_files_and_keeps_the_others(
    osm: RecordedOSM, tmp_path: Path
) -> None:
    first = fetch_tiny(tmp_path)
    plan_output = first.folder / "out" / "tinyville" / "posts.csv"
    plan_output.parent.mkdir(parents=True)
    plan_output.write_text("post_id\n")
    first.schools.write_bytes(first.schools.read_bytes().replace(b"Maple", b"Mapel"))
    with pytest.raises(OutputFolderError, match=r"'schools\.geojson' changed since"):
        fetch_tiny(tmp_path)  # an edited file is the planner's now
    first.schools.write_bytes(first.schools.read_bytes().replace(b"Mapel", b"Maple"))
    sent = len(osm.sent("POST"))
    again = fetch_tiny(tmp_path, force=True)
    assert len(osm.sent("POST")) == sent + 2  # force: downloaded again, not from the cache
    assert plan_output.read_text() == "post_id\n"
    assert "Maple Elementary" in again.schools.read_text(encoding="utf-8")
    assert [p.name for p in again.folder.iterdir() if p.name.startswith(".")] == []


def test_an_edited_starter_config_is_never_overwritten(osm: RecordedOSM, tmp_path: Path) -> None:
    fetched = fetch_tiny(tmp_path)
    edited = fetched.config.read_text(encoding="utf-8").replace(
        '# incidents = ["incidents.csv"]', 'incidents = ["incidents.csv"]'
    )
    fetched.config.write_text(edited, encoding="utf-8")
    with pytest.raises(OutputFolderError, match=r"'plan\.toml' changed since .*another --out"):
        fetch_tiny(tmp_path)
    assert fetched.config.read_text(encoding="utf-8") == edited


def test_a_second_fetch_is_served_from_the_cache(osm: RecordedOSM, tmp_path: Path) -> None:
    fetch_tiny(tmp_path, out=tmp_path / "one")
    sent = len(osm.requests)
    again = fetch_tiny(tmp_path, out=tmp_path / "two")
    assert len(osm.requests) == sent  # every answer from <cache>/osmnx
    assert again.school_count == 3


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-87.65,41.77,-87.64", "give four numbers WEST,SOUTH,EAST,NORTH"),
        ("35.6,139.6,35.7,139.8", r"latitudes, from -90 to 90 \(lon/lat swapped\?\)"),
        ("-87.64,41.77,-87.65,41.78", r"WEST \(-87.64\) must be less than EAST \(-87.65\)"),
        ("-87.65,41.78,-87.64,41.77", r"SOUTH \(41.78\) must be less than NORTH \(41.77\)"),
    ],
)
def test_bad_bbox_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(DataError, match=problem):
        parse_bbox(text)


def test_parse_bbox_reads_west_south_east_north() -> None:
    assert parse_bbox(" -87.65, 41.77,-87.64 ,41.78") == (-87.65, 41.77, -87.64, 41.78)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fetch"], "nothing to fetch"),
        (["fetch", "Englewood", "--place", PLACE], "AREA and --place; give one of"),
        (["fetch", "--place", PLACE, "--crime-year", "2016"], "--crime-year is for a Chicago"),
        (["fetch", "Englewood", "--out", "x"], "--out is for --place and --bbox"),
        (["fetch", "--bbox=1,2,3"], "bbox '1,2,3': give four numbers"),
    ],
)
def test_cli_fetch_refuses_conflicting_options(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    restore_log_level(monkeypatch)
    monkeypatch.setattr(socket, "create_connection", RecordedOSM.no_connection)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def osm_features(rows: list[tuple[str, int, str | None, Any]]) -> gpd.GeoDataFrame:
    """What osmnx.features_from_polygon returns: (element, id) index, EPSG:4326."""
    index = pd.MultiIndex.from_tuples([(e, i) for e, i, _, _ in rows], names=["element", "id"])
    return gpd.GeoDataFrame(
        {"name": [n for _, _, n, _ in rows]}, geometry=[g for *_, g in rows], index=index, crs=4326
    )


def test_school_points_keep_a_node_of_another_school_inside_an_area() -> None:
    campus = shapely.box(-87.6491, 41.7727, -87.6479, 41.7733)
    features = osm_features(
        [
            ("node", 1, "Oak High School", shapely.Point(-87.6485, 41.7730)),
            ("node", 2, "Oak Annex Academy", shapely.Point(-87.6484, 41.7731)),
            ("node", 3, None, shapely.Point(-87.6486, 41.7729)),
            ("node", 4, None, shapely.Point(-87.6400, 41.7700)),
            ("way", 9, "OAK HIGH SCHOOL", campus),
        ]
    )
    schools = school_points(features)
    assert list(schools["school_id"]) == ["osm-node-2", "osm-node-4", "osm-way-9"]
    assert list(schools["name"]) == ["Oak Annex Academy", "osm-node-4", "OAK HIGH SCHOOL"]


def test_school_points_of_an_l_shaped_campus_lie_inside_it() -> None:
    # an L whose centroid falls in the missing corner
    ell = shapely.Polygon(
        [
            (-87.650, 41.770),
            (-87.646, 41.770),
            (-87.646, 41.7705),
            (-87.6495, 41.7705),
            (-87.6495, 41.774),
            (-87.650, 41.774),
        ]
    )
    assert not ell.covers(ell.centroid)
    point = school_points(osm_features([("relation", 7, "Elm Campus", ell)])).geometry.iloc[0]
    assert ell.buffer(1e-9).covers(point)


def test_a_bad_box_given_to_the_api_is_refused_before_any_request(
    osm: RecordedOSM, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=r"bbox '-87.6,41.8,-87.7,41.9': WEST \(-87.6\) must be"):
        fetch_place(bbox=(-87.6, 41.8, -87.7, 41.9), out=tmp_path / "x")
    assert osm.requests == []
    assert not (tmp_path / "x").exists()
