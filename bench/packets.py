"""Benchmark the PDF post packets: seconds per page, ours against a baseline commit, same text.

The Englewood example is planned once (no outputs written; the network cache
under ``~/.cache/safepassage`` is reused; staff and floaters filled in from the
workers table when the plan lacks them, see :func:`with_people`), then every vendor's packet is
written by today's :func:`safepassage.maps.printed.post_packet` and by the
``printed.py``/``drawing.py`` of ``--baseline`` (a git commit, loaded into this
process from ``git show``), each ``--repeat`` times; the best time of each is
kept, and the CPU seconds of one more call (this machine is shared: wall
time moves with the load, CPU time much less).  Both packets must have the
same pages and the same text on every page (pypdf's text extraction,
whitespace left out); a difference is printed (a baseline from before the worker
pages and sign-in sheets, 711ad7f or older, has fewer pages: compare CPU seconds).

Run: ``.venv/bin/python bench/packets.py [--baseline REF] [--repeat 2] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from _common import Result, best_of, peak_rss_mb, print_result, print_table
from pypdf import PdfReader

import safepassage.maps.printed
from safepassage.pipeline import plan

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "data" / "examples" / "englewood.toml"
BASELINE = "658bd31"  # the branch point: packets before this work


def _load_from_git(ref: str, name: str, source_path: str, replace: dict[str, str]) -> ModuleType:
    """A module of package ``safepassage.maps`` built from ``source_path`` at commit ``ref``."""
    source = subprocess.run(
        ["git", "show", f"{ref}:{source_path}"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for old, new in replace.items():
        source = source.replace(old, new)
    spec = importlib.util.spec_from_loader(f"safepassage.maps.{name}", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "safepassage.maps"
    sys.modules[spec.name] = module
    exec(compile(source, f"{ref}:{source_path}", "exec"), module.__dict__)
    return module


def baseline_packet(ref: str) -> Callable[..., Path]:
    """``post_packet`` as it was at ``ref``."""
    _load_from_git(ref, "_bench_drawing", "safepassage/maps/drawing.py", {})
    printed = _load_from_git(
        ref,
        "_bench_printed",
        "safepassage/maps/printed.py",
        {"from .drawing import": "from ._bench_drawing import"},
    )
    packet: Callable[..., Path] = printed.post_packet
    return packet


def cpu_seconds(func: Callable[[], object]) -> float:
    """CPU seconds of one call of ``func`` (of this process: not slowed by others' load)."""
    started = time.process_time()
    func()
    return time.process_time() - started


def page_texts(path: Path) -> list[str]:
    """Each page's text without whitespace (where an extractor puts spaces follows positions)."""
    return ["".join((p.extract_text() or "").split()) for p in PdfReader(path).pages]


def compare(ours: Path, baseline: Path) -> str:
    """Whether two packets have the same text on every page, or where they differ."""
    mine, theirs = page_texts(ours), page_texts(baseline)
    if len(mine) != len(theirs):
        return f"PAGE COUNT DIFFERS: {len(mine)} vs {len(theirs)}"
    differ = [i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b]
    if not differ:
        return "same text on every page"
    i = differ[0]
    return (
        f"TEXT DIFFERS on {len(differ)} pages; page {i + 1}:\n"
        f"  ours     {mine[i][:300]!r}\n  baseline {theirs[i][:300]!r}"
    )


def with_people(result: Any) -> Any:
    """``result`` with ``staff`` and ``floaters`` filled from the workers table and the roster,
    when the plan did not carry them (no names or phones: the example has none), so the
    packets have their worker and floater pages; floaters stand by at their vendor's
    first school."""
    if not result.staff.empty or result.inputs.workers is None:
        return result
    workers = result.inputs.workers.astype({"worker_id": str, "vendor_id": str})
    staff = workers[["worker_id", "vendor_id"]].assign(name="", phone="")
    held = set(result.roster_result.floaters) if result.roster_result is not None else set()
    first = {
        str(v): (list(s) or [""])[0] for v, s in result.vendors[["vendor_id", "school_ids"]].values
    }
    floaters = staff[staff["worker_id"].isin(held)].assign(
        school_id=lambda f: f["vendor_id"].map(first), post_id="", weekdays="", windows=""
    )
    return dataclasses.replace(result, staff=staff, floaters=floaters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default=BASELINE, help="git commit of the baseline")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="write the packets here")
    parser.add_argument("--no-baseline", action="store_true", help="time ours only")
    args = parser.parse_args()
    result: Any = with_people(plan(CONFIG))
    old = None if args.no_baseline else baseline_packet(args.baseline)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="safepassage-bench-packets-"))
    folder.mkdir(parents=True, exist_ok=True)
    vendors = [str(v) for v, s in result.vendors[["vendor_id", "school_ids"]].values if len(s)]
    pages = ours_s = old_s = 0.0
    for vendor in vendors:
        mine, theirs = folder / f"ours_{vendor}.pdf", folder / f"baseline_{vendor}.pdf"
        ours = functools.partial(safepassage.maps.printed.post_packet, result, vendor, mine)
        seconds, _ = best_of(args.repeat, ours)
        ours_s += seconds
        ours_cpu = cpu_seconds(ours)
        n = len(PdfReader(mine).pages)
        pages += n
        line = f"vendor {vendor}: {n} pages, ours {seconds / n:.4f} s/page ({ours_cpu / n:.4f} CPU)"
        if old is not None:
            theirs_call = functools.partial(old, result, vendor, theirs)
            base, _ = best_of(args.repeat, theirs_call)
            base_cpu = cpu_seconds(theirs_call)
            old_s += base
            line += (
                f", baseline {base / n:.4f} s/page ({base_cpu / n:.4f} CPU), "
                f"CPU ratio {base_cpu / ours_cpu:.1f}x; {compare(mine, theirs)}"
            )
        print(line)
        sys.stdout.flush()
    results = [
        Result(
            f"packets, {len(vendors)} vendors, {pages:.0f} pages",
            ours_s,
            old_s if old is not None else None,
            f"printed.py at {args.baseline}",
            peak_rss_mb(),
            note=f"ours {ours_s / pages:.4f} s/page"
            + (f", baseline {old_s / pages:.4f} s/page" if old is not None else ""),
        )
    ]
    for r in results:
        print_result(r)
    print_table(results)
    print(f"packets in {folder}")


if __name__ == "__main__":
    main()
