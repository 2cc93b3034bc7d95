"""Public exceptions of safepassage.

Every error the library raises on bad input is a :class:`SafePassageError`.
Subclasses that describe a bad value also inherit the matching builtin
(``DataError`` is a ``ValueError``), so callers may catch either.
Messages name the file, row or column, the bad value and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CRSError",
    "ConfigError",
    "DataError",
    "EmptyTableError",
    "InfeasibleError",
    "MissingColumnError",
    "NoRouteError",
    "OutputFolderError",
    "SafePassageError",
    "SnapError",
]


class SafePassageError(Exception):
    """Base class of every error safepassage raises on purpose."""


class ConfigError(SafePassageError, ValueError):
    """A configuration file or object is invalid (all problems are listed)."""

    def __init__(self, problems: Iterable[str], *, source: str | None = None) -> None:
        self.problems = list(problems)
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s){where}:\n{lines}")


class DataError(SafePassageError, ValueError):
    """An input file or table holds values that cannot be used."""


class MissingColumnError(DataError, KeyError):
    """A table lacks columns the reader needs."""

    def __init__(
        self,
        missing: Iterable[str],
        *,
        found: Iterable[str],
        source: str = "table",
        hint: str = "",
    ) -> None:
        self.missing = list(missing)
        self.found = list(found)
        self.source = source
        message = (
            f"{source} is missing column(s) {', '.join(map(repr, self.missing))}; "
            f"columns found: {', '.join(map(repr, self.found)) or '(none)'}"
        )
        if hint:
            message += f". {hint}"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class EmptyTableError(DataError):
    """An input table has no rows (an empty file, or a header line only)."""


class CRSError(DataError):
    """A coordinate reference system is missing, geographic where metres are needed, or wrong."""


class SnapError(DataError):
    """Points lie farther from the street network than allowed."""


class NoRouteError(SafePassageError, LookupError):
    """No walking route connects the places asked for."""


class InfeasibleError(SafePassageError):
    """Hard inputs contradict each other; the message names the inputs in conflict."""


class OutputFolderError(SafePassageError):
    """The output folder holds files the tool did not write (or cannot be written).

    Raised before any planning work starts; the message names the folder, a few of
    the files in the way and what to do.
    """


def require_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`MissingColumnError` naming ``what`` if ``table`` lacks columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnError(missing, found=table.columns, source=what)
