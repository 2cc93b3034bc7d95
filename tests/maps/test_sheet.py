"""Printed text that never clips: measured wrapping and tables that run onto more pages."""

from __future__ import annotations

from matplotlib.figure import Figure

from safepassage.maps import sheet
from safepassage.maps.drawing import LETTER_IN
from safepassage.maps.sheet import Flowed, fitted, flow, text_width_pt, wrap

from .conftest import texts_inside

LABEL = "S Doctor Martin Luther King Junior Drive between E Garfield Blvd and E 57th St"


def test_wrap_keeps_every_word_and_each_line_fits() -> None:
    lines = wrap(LABEL, 120.0, 9.0)
    assert len(lines) > 2
    assert " ".join(lines) == LABEL
    assert all(text_width_pt(line, 9.0) <= 120.0 for line in lines)


def test_a_word_wider_than_the_line_is_split_by_letters_not_dropped() -> None:
    word = "609768_MartinLutherKing_Garfield_12"
    lines = wrap(word, 60.0, 9.0)
    assert "".join(lines) == word
    assert all(text_width_pt(line, 9.0) <= 60.0 for line in lines)


def test_a_long_table_runs_onto_more_pages_with_every_row_once() -> None:
    header = ["#", "Location", "Time"]
    rows = [[str(i), f"{LABEL} ({i})", "06:30–08:30"] for i in range(90)]
    item = Flowed("Posts", fitted(header, rows, wrapping=(1,)), 9.0, min_pt=7.0)

    def page() -> tuple[Figure, float]:
        return Figure(figsize=LETTER_IN), 0.95

    pages = list(flow([item], page, page))
    assert len(pages) > 1
    drawn = [
        t.get_text()
        for fig in pages
        for t in fig.texts
        if t in sheet.CELLS and t.get_text().isdigit()
    ]
    assert drawn == [str(i) for i in range(90)]  # in order, none lost or repeated
    titles = [t.get_text() for fig in pages for t in fig.texts if t.get_text().startswith("Posts")]
    assert titles == ["Posts"] + ["Posts (continued)"] * (len(pages) - 1)
    assert all(texts_inside(fig) for fig in pages)
