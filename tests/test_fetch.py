"""Downloads, tested offline: recorded responses through an injected opener, osmnx patched."""

from __future__ import annotations

import gzip
import io
import logging
import socket
import time
from pathlib import Path
from typing import Any

import networkx as nx
import osmnx
import pytest

from safepassage import fetch
from safepassage.cli import main
from safepassage.fetch import (
    PORTAL_DATASETS,
    FetchError,
    area_slug,
    fetch_area,
    fetch_portal_dataset,
)

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


def test_cli_fetch_offline_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = logging.getLogger("safepassage")
    monkeypatch.setattr(package, "level", package.level)  # main() sets it; restore after

    def no_network(*args: Any, **kwargs: Any) -> socket.socket:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(fetch.socket, "create_connection", no_network)
    assert main(["fetch", "Englewood", "--cache", str(tmp_path)]) == 2
    assert "error: cannot reach" in capsys.readouterr().err


def test_area_slug_makes_file_names() -> None:
    assert area_slug("West Englewood") == "west_englewood"
    assert area_slug("Englewood, Chicago, Illinois, USA") == "englewood"
