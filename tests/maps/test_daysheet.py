"""The day sheet: one page, who stands where, changes marked and counted, nothing cut."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.figure import Figure
from pypdf import PdfReader

from safepassage.errors import DataError
from safepassage.maps import daysheet
from safepassage.maps.daysheet import CHANGED, day_sheet

from .conftest import texts_inside

LONG_STREET = "S Doctor Martin Luther King Junior Drive between E Garfield Blvd and E 57th St"


def day_rows(posts: int = 3, *, schools: int = 1) -> pd.DataFrame:
    """Every post of each school staffed am and pm; post 2's am worker W9 covers W2."""
    rows = []
    for s in range(schools):
        for n in range(1, posts + 1):
            for window, start, end in (("am", "06:30", "08:30"), ("pm", "14:30", "17:30")):
                covered = n == 2 and window == "am"
                rows.append(
                    {
                        "school_name": f"School {s} " + ("Academy" if s else "Elementary"),
                        "post_id": f"S{s}_P{n}",
                        "post_number": n,
                        "cross_streets": LONG_STREET
                        if n == 1
                        else f"S Halsted St & W {60 + n}th St",
                        "window": window,
                        "start": start,
                        "end": end,
                        "worker_id": "W9" if covered else f"W{s}{n}",
                        "worker_name": "Ana Núñez" if n == 3 else "",
                        "changed": covered,
                        "note": "covers W2 (absent)" if covered else "",
                    }
                )
    return pd.DataFrame(rows)


def write(path: Path, rows: pd.DataFrame) -> Path:
    return day_sheet(
        path,
        vendor_name="Peace & Hope CBO",
        vendor_id="V1",
        day="Tue 2016-10-04",
        rows=rows,
        plan_name="Test plan",
        plan_date="2016-10-03",
    )


def test_one_letter_page_lists_who_stands_where(tmp_path: Path) -> None:
    reader = PdfReader(write(tmp_path / "day.pdf", day_rows()))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (612.0, 792.0)
    text = " ".join(reader.pages[0].extract_text().split())
    for expected in (
        "Tue 2016-10-04",
        "Peace & Hope CBO (V1)",
        "School 0 Elementary AM 06:30–08:30 PM 14:30–17:30",  # shared times in the band
        "W01",
        "W03 Ana Núñez",
        LONG_STREET,
    ):
        assert expected in text, expected


def test_changes_are_marked_bold_and_counted(tmp_path: Path) -> None:
    text = " ".join(
        PdfReader(write(tmp_path / "d.pdf", day_rows())).pages[0].extract_text().split()
    )
    assert f"{CHANGED} W9" in text
    assert "AM: covers W2 (absent)" in text
    assert "1 change from the plan" in text
    assert text.count(CHANGED) == 2 + 1  # the row, the cell, the footer
    table, changes = daysheet._table(day_rows())
    assert changes == 1
    row = next(i for i, r in enumerate(table.rows) if len(r) > 1 and r[1] == "2")
    assert {(row, 0), (row, 3)} == set(table.bold)  # the marker and the AM cell


def test_a_whole_vendors_day_fits_one_page(tmp_path: Path) -> None:
    rows = day_rows(8, schools=8)  # 64 posts, 128 assignments
    assert len(PdfReader(write(tmp_path / "big.pdf", rows)).pages) == 1


def test_no_text_runs_past_its_cell_or_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[int] = []

    def check(path: Path, pages: Callable[[], Iterator[Figure]], metadata: Any) -> None:
        checked.extend(texts_inside(fig) for fig in pages())
        path.write_bytes(b"")

    monkeypatch.setattr(daysheet, "write_document", check)
    write(tmp_path / "x.pdf", day_rows(8, schools=8))
    assert len(checked) == 1
    assert checked[0] > 64 * 4  # number, location, am and pm of every post (empty cells aside)


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = write(tmp_path / "a.pdf", day_rows()).read_bytes()
    assert write(tmp_path / "b.pdf", day_rows()).read_bytes() == first


def test_missing_column_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="note"):
        write(tmp_path / "x.pdf", day_rows().drop(columns="note"))
    assert not list(tmp_path.iterdir())


def test_failed_write_leaves_the_earlier_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "day.pdf"
    target.write_bytes(b"earlier")

    def broken(*args: object) -> None:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(daysheet, "write_document", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        write(target, day_rows())
    assert target.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["day.pdf"]
