"""Small helpers shared by the benchmarks: timing, memory, data root, result table.

Every benchmark prints, for each measured step, seconds for our code, seconds
for the baseline, their ratio (baseline / ours, so > 1 means we are faster) and
the peak resident memory of the process so far.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from safepassage.config import default_data_root
from safepassage.outputs import STAFF_INPUT_COLUMNS
from safepassage.schedule import WEEKDAYS

T = TypeVar("T")

__all__ = [
    "Result",
    "Timer",
    "add_data_argument",
    "best_of",
    "current_rss_mb",
    "peak_rss_mb",
    "print_result",
    "print_table",
    "resolve_data_root",
    "timed",
]


@dataclass
class Timer:
    """Wall-clock seconds of a ``with timed() as t:`` block (``t.seconds``)."""

    seconds: float = 0.0
    started: float = field(default=0.0, repr=False)


def best_of(repeat: int, func: Callable[[], T]) -> tuple[float, T]:
    """Fewest seconds of ``repeat`` calls of ``func`` and the last call's result."""
    best = float("inf")
    result: T | None = None
    for _ in range(max(1, repeat)):
        with timed() as clock:
            result = func()
        best = min(best, clock.seconds)
    assert result is not None
    return best, result


@contextmanager
def timed() -> Iterator[Timer]:
    """Time a block with :func:`time.perf_counter`; read ``.seconds`` afterwards."""
    timer = Timer(started=time.perf_counter())
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - timer.started


def _proc_status_mb(field_name: str) -> float | None:
    """A ``/proc/self/status`` memory field in MiB, or None where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB.

    ``VmHWM`` from ``/proc/self/status`` on Linux; ``getrusage`` ``ru_maxrss``
    elsewhere.  ``ru_maxrss`` is not used on Linux because a spawned child
    inherits its parent's peak at fork time through ``execve``.
    """
    peak = _proc_status_mb("VmHWM")
    if peak is not None:
        return peak
    # ru_maxrss is in bytes on macOS, KiB elsewhere
    scale = 1.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def current_rss_mb() -> float:
    """Resident memory now, MiB (``VmRSS``; the peak where /proc is missing)."""
    now = _proc_status_mb("VmRSS")
    return peak_rss_mb() if now is None else now


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--data DIR`` (the shared Chicago data folder) to a benchmark's parser."""
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="shared Chicago data folder (default: $SAFEPASSAGE_DATA or ../shared/data/chicago)",
    )


def resolve_data_root(data: Path | None) -> Path:
    """The data folder to use; exits with a clear message when it is missing."""
    root = data if data is not None else default_data_root(Path(__file__).resolve().parent)
    if not (root / "osm").is_dir():
        sys.exit(
            f"shared Chicago data not found at {root} (no osm/ folder); "
            "pass --data DIR or set SAFEPASSAGE_DATA"
        )
    return root


@dataclass(frozen=True)
class Result:
    """One measured step: our seconds, the baseline's seconds, and peak memory.

    ``baseline_s`` is None for steps without a baseline; ``note`` says how the
    baseline was measured (e.g. extrapolated from a sample).
    """

    step: str
    ours_s: float
    baseline_s: float | None
    baseline: str
    peak_mb: float
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Baseline seconds / our seconds (> 1: ours is faster)."""
        if self.baseline_s is None or self.ours_s <= 0:
            return None
        return self.baseline_s / self.ours_s


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.4f}" if seconds < 1 else f"{seconds:.2f}"


def _fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:,.1f}x"


def print_result(result: Result) -> None:
    """Print one step as it finishes."""
    print(f"[{result.step}]")
    print(f"  ours      {_fmt_s(result.ours_s):>10} s")
    print(f"  baseline  {_fmt_s(result.baseline_s):>10} s   ({result.baseline})")
    print(f"  ratio     {_fmt_ratio(result.ratio):>10}   (baseline / ours)")
    print(f"  peak RSS  {result.peak_mb:>10,.0f} MiB")
    if result.note:
        print(f"  note      {result.note}")
    sys.stdout.flush()


def print_table(results: list[Result]) -> None:
    """Print the compact summary table of all steps."""
    header = f"{'step':<40} {'ours s':>10} {'baseline s':>11} {'ratio':>10} {'peak MiB':>9}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.step:<40} {_fmt_s(r.ours_s):>10} {_fmt_s(r.baseline_s):>11} "
            f"{_fmt_ratio(r.ratio):>10} {r.peak_mb:>9,.0f}"
        )
    sys.stdout.flush()


STAFF_COLUMNS = list(STAFF_INPUT_COLUMNS)  # the workers table's roster columns


def synthetic_workers(rng: np.random.Generator, vendor_id: str, n: int) -> list[tuple[object, ...]]:
    """``n`` SYNTHETIC worker rows (:data:`STAFF_COLUMNS`) of a vendor: most Mon-Fri and both
    windows; about 15 % miss a weekday and 10 % work mornings or afternoons only."""
    rows: list[tuple[object, ...]] = []
    for k in range(n):
        days = list(WEEKDAYS)
        if rng.random() < 0.15:
            days.remove(str(rng.choice(days)))
        draw = rng.random()
        windows = "am" if draw < 0.05 else "pm" if draw < 0.10 else "am;pm"
        rows.append((f"{vendor_id}-{k:03d}", vendor_id, ";".join(days), windows, 300, 5))
    return rows


def write_staff(
    folder: Path, vendors: pd.DataFrame, rows: list[tuple[object, ...]]
) -> tuple[Path, Path]:
    """Write SYNTHETIC ``vendors`` and worker ``rows`` (:data:`STAFF_COLUMNS`) as the plan's
    ``vendors.csv`` and ``workers.csv`` in ``folder``; returns both paths."""
    vendors_path, workers_path = folder / "vendors.csv", folder / "workers.csv"
    vendors.to_csv(vendors_path, index=False)
    pd.DataFrame(rows, columns=STAFF_COLUMNS).to_csv(workers_path, index=False)
    return vendors_path, workers_path
