"""Text that never clips on a printed page: measured wrapping, headings, ruled tables, PDF writing.

Shared by the post packets (:mod:`safepassage.maps.printed`) and the day sheet
(:mod:`safepassage.maps.daysheet`).  Text is measured with the advances of
DejaVu Sans, matplotlib's own font, which are wider than Helvetica's (the PDF
core font the pages are written in when their text is WinAnsi), so text laid
out to fit here fits in either font.  A table shrinks its font, then wraps
cells onto more lines; rows that do not fit even then are left for the caller
to put on the next page.  Nothing is cut short.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

LETTER_IN = (8.5, 11.0)  # US Letter, inches: every printed page


__all__ = [
    "CELLS",
    "MIN_TABLE_PT",
    "Flowed",
    "Table",
    "cell_text",
    "content_widths",
    "draw_table",
    "fit_widths",
    "fitted",
    "flow",
    "heading",
    "text_width_pt",
    "wrap",
    "write_document",
    "write_pdf",
]

MIN_TABLE_PT = 5.5  # smallest table text (pt); below it rows go to the next page
CELL_PAD_PT = 2.5  # text inset in a table cell
LINE = 1.2  # matplotlib's line spacing (text.linespacing), in font sizes
SAFETY = 1.03  # measured widths are widened this much (hinting, rounding)

#: Each table cell's text and the cell's box (figure fraction), while the figure lives:
#: what a test checks the drawn text against.
CELLS: weakref.WeakKeyDictionary[Text, Bbox] = weakref.WeakKeyDictionary()

_RC: Any = {"pdf.fonttype": 42, "text.parse_math": False}
# Helvetica's regular face is "Medium" in its metrics: asking for it by that name
# spares a findfont warning, as does keeping the tick formatter (no map has ticks)
# from looking for a minus sign in a TrueType font of that weight.
_CORE_RC: Any = _RC | {
    "pdf.use14corefonts": True,
    "font.weight": "medium",
    "axes.formatter.use_mathtext": True,
}


def cell_text(value: Any) -> str:
    """A table cell's text: missing (None, NaN, empty) is ``""``."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "<na>") else text


# ------------------------------------------------------------------ measuring
@functools.cache
def _font(bold: bool) -> Any:
    """DejaVu Sans at 1000 px per em: an instance of our own (``get_font`` shares one with
    the renderers, which set their own sizes on it)."""
    path = findfont(FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal"))
    font = FT2Font(path)
    font.set_size(1000, 72)
    return font


@functools.cache
def _advance(char: str, bold: bool) -> float:
    """A character's advance, in font sizes (em)."""
    glyph = _font(bold).load_char(ord(char))
    return float(glyph.linearHoriAdvance) / 65536 / 1000


@functools.lru_cache(maxsize=65536)
def _em(text: str, bold: bool) -> float:
    """The width of the longest line of ``text``, in font sizes (words and cells recur)."""
    return max(sum(_advance(c, bold) for c in line) for line in text.split("\n"))


def text_width_pt(text: str, size: float, *, bold: bool = False) -> float:
    """The width (pt) of the longest line of ``text`` at ``size`` pt, a little generous."""
    return _em(text, bold) * size * SAFETY


def wrap(text: str, width_pt: float, size: float, *, bold: bool = False) -> list[str]:
    """``text`` in lines no wider than ``width_pt``: broken at spaces, a longer word by letters."""
    return _wrap(text, width_pt, size, bold)[0]


def _wrap(text: str, width_pt: float, size: float, bold: bool) -> tuple[list[str], bool]:
    """:func:`wrap`, and whether a word had to be broken."""
    lines: list[str] = []
    broke = False
    space = _advance(" ", bold) * size * SAFETY
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            w = text_width_pt(word, size, bold=bold) if word else 0.0
            if line and used + space + w <= width_pt:
                line, used = f"{line} {word}", used + space + w
                continue
            if line:
                lines.append(line)
            while w > width_pt and len(word) > 1:  # a word wider than the line: cut by letters
                broke = True
                n = len(word) - 1
                while n > 1 and text_width_pt(word[:n], size, bold=bold) > width_pt:
                    n -= 1
                lines.append(word[:n])
                word = word[n:]
                w = text_width_pt(word, size, bold=bold)
            line, used = word, w
        lines.append(line)
    return lines, broke


def heading(
    fig: Figure,
    lines: Sequence[tuple[str, float, bool]],
    top: float,
    *,
    bottom: float | None = None,
    left: float = 0.07,
    width: float = 0.86,
    gap: float = 0.35,
) -> float:
    """Stacked text lines ``(text, size pt, bold)`` from ``top`` down (figure fractions).

    Each wraps to ``width``; if they would pass ``bottom``, every size shrinks
    (to half at most) until they fit.  Returns the figure fraction under the last line.
    """
    width_pt = width * LETTER_IN[0] * 72
    page_pt = LETTER_IN[1] * 72

    def layout(scale: float) -> tuple[list[tuple[list[str], float, bool]], float]:
        laid = [(wrap(t, width_pt, s * scale, bold=b), s * scale, b) for t, s, b in lines if t]
        return laid, sum((len(w) * LINE + gap) * s for w, s, _ in laid) / page_pt

    scale = 1.0
    laid, height = layout(scale)
    while bottom is not None and top - height < bottom and scale > 0.5:
        scale = max(0.5, scale * 0.93)
        laid, height = layout(scale)
    y = top
    for wrapped, size, bold in laid:
        fig.text(
            left,
            y,
            "\n".join(wrapped),
            fontsize=size,
            fontweight="bold" if bold else None,
            va="top",
            linespacing=LINE,
            zorder=0,
        )
        y -= (len(wrapped) * LINE + gap) * size / page_pt
    return y


# ------------------------------------------------------------------ tables
@dataclass(frozen=True)
class Table:
    """A table's content: header, rows, column widths (fractions summing to 1).

    A row of one cell is a band across the whole table (a group heading, shaded,
    bold).  ``bold`` holds ``(row, column)`` of body cells printed bold.  With
    ``wrapping`` set, the widths are fitted anew at each font size tried
    (:func:`fit_widths`: the columns listed wrap, the others hold their text
    whole, the last columns take the fractions ``fixed``) and ``widths`` is
    only a fallback.
    """

    header: list[str]
    rows: list[list[str]]
    widths: list[float]
    bold: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    wrapping: tuple[int, ...] | None = None
    fixed: tuple[float, ...] = ()

    def rest(self, start: int) -> Table:
        """The rows from ``start`` on (for the next page), bold cells renumbered."""
        bold = frozenset((r - start, c) for r, c in self.bold if r >= start)
        return dataclasses.replace(self, rows=self.rows[start:], bold=bold)

    def widths_at(self, size: float, width: float) -> list[float]:
        """The column widths at font ``size`` in a table ``width`` wide (figure fraction)."""
        if self.wrapping is None:
            return self.widths
        return fit_widths(
            self.header,
            self.rows,
            size=size,
            width=width,
            wrapping=self.wrapping,
            fixed=self.fixed,
        )


def fitted(
    header: list[str],
    rows: list[list[str]],
    wrapping: tuple[int, ...],
    fixed: tuple[float, ...] = (),
) -> Table:
    """A table whose widths are fitted at each font size (see :class:`Table`)."""
    widths = content_widths(header, rows)
    return Table(header, rows, widths, wrapping=wrapping, fixed=fixed)


def content_widths(
    header: list[str], rows: list[list[str]], *, cap_em: float = 24.0
) -> list[float]:
    """Column widths (fractions) in proportion to each column's widest text, measured.

    A column's width is its widest cell (up to ``cap_em`` font sizes: longer
    text wraps, but never narrower than its longest word) or its header's
    widest word (headers wrap at spaces), plus an em of padding, so short
    columns ("Day", "AM") are not starved by character counts.
    """

    def em(text: str, bold: bool) -> float:
        return text_width_pt(text, 1.0, bold=bold) if text else 0.0

    full = [r for r in rows if len(r) == len(header)]
    need = []
    for j, title in enumerate(header):
        cells = [r[j] for r in full]
        widest = max([em(t, False) for t in cells] or [0.0])
        words = [em(w, False) for t in cells for w in t.split(" ")]
        words += [em(w, True) for w in title.split(" ")]
        need.append(max(min(cap_em, widest), *words) + 1.0)
    return [n / sum(need) for n in need]


def fit_widths(
    header: list[str],
    rows: list[list[str]],
    *,
    size: float,
    width: float,
    wrapping: Sequence[int],
    fixed: Sequence[float] = (),
) -> list[float]:
    """Column widths (fractions of the table) that hold every column's text whole at ``size`` pt.

    Each column not in ``wrapping`` gets its widest cell (headers: their
    widest word) at ``size`` plus the padding, so at ``size`` or smaller no
    such text wraps; the columns in ``wrapping`` share what is left in
    proportion to their widest text (they wrap); the last ``len(fixed)``
    columns (hand-filled ones, say) take the fractions ``fixed``.
    ``width`` is the table's width (figure fraction).
    """
    width_pt = width * LETTER_IN[0] * 72
    free_pt = width_pt * (1 - sum(fixed))
    typed = len(header) - len(fixed)
    full = [r for r in rows if len(r) == len(header)]
    need = []
    for j, title in enumerate(header[:typed]):
        cells = [r[j] for r in full]
        widest = max([text_width_pt(t, size) for t in cells if t] or [0.0])
        words = [text_width_pt(w, size, bold=True) for w in title.split(" ") if w]
        need.append(max(widest, *words, 0.0) + 2 * CELL_PAD_PT + 1.0)
    spare = free_pt - sum(n for j, n in enumerate(need) if j not in wrapping)
    share = sum(need[j] for j in wrapping)
    if spare > 0 and share > 0:
        need = [spare * n / share if j in wrapping else n for j, n in enumerate(need)]
    total = sum(need)
    return [n / total * (1 - sum(fixed)) for n in need] + list(fixed)


def _layout(
    table: Table,
    inner_pt: list[float],
    full_pt: float,
    size: float,
    min_row_pt: float,
    row_pad: float,
) -> tuple[list[list[list[str]]], list[float], bool]:
    """Every cell's lines and every row's height (pt, header first) at ``size``, and
    whether a word had to be broken."""
    cells, heights = [], []
    broke = False
    for i, row in enumerate([table.header, *table.rows]):
        band = len(row) == 1 < len(table.header)
        widths = [full_pt] if band else inner_pt
        wrapped = [
            _wrap(t, w, size, i == 0 or band or (i - 1, j) in table.bold)
            for j, (t, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines = [w[0] for w in wrapped]
        broke = broke or any(w[1] for w in wrapped)
        cells.append(lines)
        tall = max(len(x) for x in lines) * LINE * size + row_pad * size
        heights.append(max(tall, 0.0 if i == 0 or band else min_row_pt))
    return cells, heights, broke


@dataclass(frozen=True)
class Flowed:
    """A table with its title and type: what :func:`draw_table` draws and :func:`flow` pages.

    ``max_pt``/``min_pt`` bound the font; ``min_row_pt`` keeps body rows tall
    enough to write in; ``row_pad`` is the room around a row's text (font
    sizes); ``empty`` is printed for a table without rows.
    """

    title: str
    table: Table
    max_pt: float
    min_pt: float = MIN_TABLE_PT
    min_row_pt: float = 0.0
    row_pad: float = 0.7
    empty: str = "None."


def draw_table(
    fig: Figure, rect: tuple[float, float, float, float], item: Flowed
) -> tuple[int, float]:
    """A ruled table from the top of ``rect`` (figure fraction): how many rows it holds, its bottom.

    The font shrinks from ``max_pt`` to ``min_pt`` (0.25 pt steps) until every
    row fits, text wrapping within its cell at spaces and no word broken
    (only at ``min_pt`` are words too long broken by letters).  When the rows
    do not all fit even at ``min_pt``, the font stays at the largest size that
    breaks no word (they run onto another page anyway), and the rows that do
    not fit are not drawn (the caller puts ``table.rest(n)`` on the next
    page; at least one row is drawn).  Drawn straight on the figure (a text per cell, one
    set of rules) rather than with ``Axes.table``, whose cell patches and
    axes layout cost more than the page.
    """
    table, max_pt, min_pt = item.table, item.max_pt, item.min_pt
    left, bottom, width, height = rect
    top = bottom + height
    _title(fig, left, top, item.title)
    if not table.rows:
        fig.text(left, top, item.empty, va="top", fontsize=max_pt, zorder=0)
        return 0, top - 1.5 * max_pt / (72 * LETTER_IN[1])
    height_pt, width_pt = height * LETTER_IN[1] * 72, width * LETTER_IN[0] * 72
    full_pt = width_pt - 2 * CELL_PAD_PT
    size = max_pt
    whole = None  # the first (largest) layout that breaks no word
    while True:
        widths = table.widths_at(size, width)
        pad = [min(0.1 * w * width_pt, CELL_PAD_PT) for w in widths]
        inner_pt = [w * width_pt - 2 * p for w, p in zip(widths, pad, strict=True)]
        cells, heights, broke = _layout(
            table, inner_pt, full_pt, size, item.min_row_pt, item.row_pad
        )
        if whole is None and not broke:
            whole = size, widths, pad, cells, heights
        if (sum(heights) <= height_pt and not broke) or size <= min_pt:
            break
        size = max(min_pt, size - 0.25)
    if sum(heights) > height_pt and whole is not None:
        # the rows run onto another page whatever the size: keep them large, not shrunk
        size, widths, pad, cells, heights = whole
    fits = int(np.searchsorted(np.cumsum(heights), height_pt, side="right"))
    n = max(1, min(len(table.rows), fits - 1))
    cells, heights = cells[: n + 1], heights[: n + 1]
    to_fig = 1 / (72 * LETTER_IN[1])
    edges = left + width * np.concatenate([[0.0], np.cumsum(widths)])
    ys = top - np.concatenate([[0.0], np.cumsum(heights)]) * to_fig
    rules = [[(left, y), (left + width, y)] for y in ys]
    band = [False, *(len(r) == 1 < len(table.header) for r in table.rows[:n])]
    shade = [i for i, b in enumerate(band) if i == 0 or b]
    for i in shade:
        fig.add_artist(
            Rectangle(
                (left, ys[i + 1]), width, ys[i] - ys[i + 1], facecolor="#e6e6e6", lw=0, zorder=0
            )
        )
    for i, lines in enumerate(cells):
        y0, y1 = ys[i + 1], ys[i]
        spans = [(edges[0], edges[-1])] if band[i] else list(itertools.pairwise(edges))
        if not band[i]:
            rules += [[(x, y0), (x, y1)] for x in edges[1:-1]]
        for j, (text, (x0, x1)) in enumerate(zip(lines, spans, strict=True)):
            if not any(text):
                continue  # an empty cell: no text to draw (a sign-in sheet has many)
            bold = i == 0 or band[i] or (i - 1, j) in table.bold
            inset = (CELL_PAD_PT if band[i] else pad[j]) / (72 * LETTER_IN[0])
            artist = fig.text(
                x0 + inset,
                (y0 + y1) / 2,
                "\n".join(text),
                fontsize=size,
                va="center",
                linespacing=LINE,
                fontweight="bold" if bold else None,  # None: font.weight
                zorder=0,
            )
            CELLS[artist] = Bbox.from_extents(x0, y0, x1, y1)
    rules += [[(x, ys[-1]), (x, top)] for x in (edges[0], edges[-1])]
    fig.add_artist(
        LineCollection(rules, colors="black", linewidths=0.5, capstyle="projecting", zorder=0)
    )
    return n, float(ys[-1])


def _title(fig: Figure, left: float, top: float, title: str) -> None:
    """Where an axes title goes: 6 pt above the top (``axes.titlepad``)."""
    fig.text(left, top + 6 / (72 * LETTER_IN[1]), title, fontsize=11, va="baseline", zorder=0)


TITLE_GAP = 0.03  # room above a table for its title (figure fraction)
PAGE_BOTTOM = 0.045


def flow(
    tables: Sequence[Flowed],
    first: Callable[[], tuple[Figure, float]],
    more: Callable[[], tuple[Figure, float]],
    *,
    left: float = 0.07,
    width: float = 0.86,
) -> Iterator[Figure]:
    """Tables one under another, onto as many pages as they need.

    ``first()`` and ``more()`` make a page and say where (figure fraction)
    its free space begins: ``first`` the first page, ``more`` each page after
    it.  A table whose rows run past a page goes on, under its title and
    "(continued)", at the top of the next.
    """
    fig, y = first()
    for item in tables:
        part = item
        while True:
            if y - TITLE_GAP - PAGE_BOTTOM < 0.06:  # not even a few rows: next page
                yield fig
                fig, y = more()
            n, y = draw_table(fig, (left, PAGE_BOTTOM, width, y - TITLE_GAP - PAGE_BOTTOM), part)
            y -= 0.01
            if n >= len(part.table.rows):
                break
            rest = part.table.rest(n)
            part = dataclasses.replace(part, title=f"{item.title} (continued)", table=rest)
            yield fig
            fig, y = more()
    yield fig


# ------------------------------------------------------------------ writing
def write_pdf(
    path: Path, pages: Callable[[], Iterator[Figure]], metadata: dict[str, Any], *, core_fonts: bool
) -> bool:
    """Draw ``pages()`` into ``path``; False, at the first page not in WinAnsi, with core fonts.

    The PDF core fonts (Helvetica) are neither laid out glyph by glyph nor
    subset and embedded at the end, which makes a page several times cheaper
    to write than with embedded TrueType; they only encode WinAnsi (cp1252:
    Latin letters such as "ñ", "–", "…", "©").  Any other character sends the
    document back to embedded DejaVu Sans.
    """
    with mpl.rc_context(_CORE_RC if core_fonts else _RC), PdfPages(path, metadata=metadata) as pdf:
        for fig in pages():
            if core_fonts and not winansi(fig):
                return False
            pdf.savefig(fig)
    return True


def write_document(
    path: Path, pages: Callable[[], Iterator[Figure]], metadata: dict[str, Any]
) -> None:
    """``pages()`` into ``path``: in the core fonts if all its text is WinAnsi, else DejaVu Sans."""
    if not write_pdf(path, pages, metadata, core_fonts=True):
        write_pdf(path, pages, metadata, core_fonts=False)


def winansi(fig: Figure) -> bool:
    """Whether every text of ``fig`` can be written in a core font (WinAnsi, i.e. cp1252)."""
    try:
        for text in fig.findobj(Text):
            text.get_text().encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True
