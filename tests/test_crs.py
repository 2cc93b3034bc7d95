from __future__ import annotations

import pytest

from safepassage.crs import check_metric_crs, local_metric_crs
from safepassage.errors import CRSError


def test_chicago_gets_nad83_utm_16n() -> None:
    assert local_metric_crs(-87.63, 41.77).to_epsg() == 26916


def test_outside_north_america_gets_wgs84_utm() -> None:
    assert local_metric_crs(2.35, 48.86).to_epsg() == 32631  # Paris
    assert local_metric_crs(151.2, -33.9).to_epsg() == 32756  # Sydney


def test_projected_coordinates_are_not_a_centre() -> None:
    with pytest.raises(CRSError, match="swapped"):
        local_metric_crs(440000.0, 4630000.0)


@pytest.mark.parametrize(
    ("crs", "message"),
    [(None, "no CRS"), ("EPSG:4326", "geographic"), ("EPSG:3435", "not metres")],
)
def test_metric_crs_is_required(crs: object, message: str) -> None:
    with pytest.raises(CRSError, match=message):
        check_metric_crs(crs, where="the test layer")


def test_metric_crs_passes() -> None:
    assert check_metric_crs("EPSG:26916", where="x").to_epsg() == 26916
