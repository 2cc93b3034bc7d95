"""The review of designated routes on the grid plan: extensions, stretches, independence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from safepassage.pipeline import plan
from safepassage.result import PlanResult
from safepassage.routes.corridors import segment_keys
from tests.grid_plan import write_inputs


def _with(config: Path, *lines: str) -> Path:
    text = config.read_text()
    for line in lines:
        table, entry = line.split("|")
        if f"[{table}]\n" in text:
            text = text.replace(f"[{table}]\n", f"[{table}]\n{entry}\n")
        else:
            text += f"\n[{table}]\n{entry}\n"
    config.write_text(text)
    return config


DESIGNATED = 'data|designated_routes = "designated_routes.geojson"'
REFERENCE = 'data|reference_routes = "reference_routes.geojson"'


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> PlanResult:
    config = write_inputs(tmp_path_factory.mktemp("reviewed"), extras=True)
    return plan(_with(config, DESIGNATED))


def test_extensions_leave_from_the_route_over_streets_it_leaves_uncovered(
    reviewed: PlanResult,
) -> None:
    network, extensions, uncovered = reviewed.network, reviewed.extensions, reviewed.uncovered
    assert extensions is not None
    assert uncovered is not None
    assert reviewed.review is not None
    assert len(extensions) >= 1
    key = segment_keys(network)
    u, v = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    route = reviewed.review.iloc[0]
    corridor = reviewed.corridors.set_index("route_id").loc[route["route_id"]]
    route_nodes = set(u[corridor["edge_ids"]]) | set(v[corridor["edge_ids"]])
    off_route = set(key[uncovered["edge_id"].to_numpy()])
    taken: set[int] = set()
    for row in extensions.itertuples():
        ids = np.asarray(row.edge_ids)
        segments = set(key[ids])
        assert segments <= off_route  # only streets the route leaves uncovered
        assert not segments & set(key[corridor["edge_ids"]])
        assert not segments & taken  # no street in two extensions
        taken |= segments
        nodes = set(u[ids]) | set(v[ids])
        assert nodes & route_nodes  # connected to the route
        assert row.length_m <= reviewed.config.review.extension_max_m + 1e-6
        gain = row.gain_am + row.gain_pm
        assert row.gain_per_km == pytest.approx(gain / (row.length_m / 1000), rel=1e-2)
    total = float(uncovered[["exposure_am", "exposure_pm"]].to_numpy().sum())
    assert extensions["share_of_uncovered"].sum() <= 1.0 + 1e-6
    covered = float(extensions[["gain_am", "gain_pm"]].to_numpy().sum())
    assert covered == pytest.approx(extensions["share_of_uncovered"].sum() * total, rel=1e-2)


def test_review_counts_the_route_and_the_uncovered_exposure_apart(reviewed: PlanResult) -> None:
    review, uncovered = reviewed.review, reviewed.uncovered
    assert review is not None
    assert uncovered is not None
    row = review.iloc[0]
    off = float(uncovered["exposure_pm"].sum())
    assert row["uncovered_exposure_pm"] == pytest.approx(off, abs=0.01)
    share = off / (off + row["exposure_pm"])
    assert row["uncovered_share_pm"] == pytest.approx(share, abs=1e-3)
    assert row["riskiest_edge_ids"]  # the stretch's edges lie on the route
    corridor = reviewed.corridors.set_index("route_id").loc[row["route_id"]]
    assert set(row["riskiest_edge_ids"]) <= set(corridor["edge_ids"])


def test_designed_corridors_still_review_the_designated_routes(tmp_path: Path) -> None:
    config = _with(write_inputs(tmp_path, extras=True), DESIGNATED, 'routes|source = "designed"')
    result = plan(config)
    assert set(result.corridors["source"]) == {"designed"}
    assert result.review is not None
    assert list(result.review["school_id"]) == ["S1"]


def test_reference_routes_never_change_the_plan(tmp_path: Path) -> None:
    plain = plan(_with(write_inputs(tmp_path / "a", extras=True), DESIGNATED), out=tmp_path / "o1")
    compared = plan(
        _with(write_inputs(tmp_path / "b", extras=True), DESIGNATED, REFERENCE), out=tmp_path / "o2"
    )
    assert plain.comparison is None
    assert compared.comparison is not None
    for name in ("posts.csv", "roster.csv", "unfilled.csv", "route_review.csv", "extensions.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "o1" / name), pd.read_csv(tmp_path / "o2" / name)
        )
    corridors = ["route_id", "length_m", "students_served", "edge_ids", "source"]
    pd.testing.assert_frame_equal(plain.corridors[corridors], compared.corridors[corridors])


def test_summary_holds_the_route_review(tmp_path: Path) -> None:
    config = _with(
        write_inputs(tmp_path, extras=True),
        DESIGNATED,
        'review|baseline_period = ["2016-01-01", "2016-03-31"]',
    )
    plan(config, out=tmp_path / "out")
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Route review" in summary
    assert "| S1-" in summary  # the route's row
    assert "change pm" in summary  # the baseline's column
    assert "Proposed extensions" in summary
