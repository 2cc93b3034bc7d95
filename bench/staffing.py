"""Benchmark the weekly roster at program scale on a SYNTHETIC program.

190 schools, ~1,500 posts (am and pm, Mon-Fri), 1,300 workers, 22 vendors from
:func:`safepassage.staffing.synthetic_program`.  Prints ours (CP-SAT), the
greedy baseline, their ratio, peak memory, and a comparison of solver choices.

Run: ``.venv/bin/python bench/staffing.py [--quick]``
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace

import pandas as pd

from safepassage.schedule import WEEKDAYS, WINDOWS
from safepassage.staffing import Roster, SolverSettings, build_roster, synthetic_program


def _as_list(value: object) -> list[str]:
    return [part for part in str(value).split(";") if part]


def greedy_roster(vendors: pd.DataFrame, workers: pd.DataFrame, demand: pd.DataFrame) -> float:
    """Covered value of a greedy roster: per weekday and window, the most valuable
    post-windows first, each given the least-used eligible worker within limits."""
    serves = {
        v: set(_as_list(s))
        for v, s in zip(vendors["vendor_id"], vendors["school_ids"], strict=True)
    }
    staff = workers.assign(
        days=workers["weekdays"].map(_as_list), wins=workers["windows"].map(_as_list)
    ).to_dict("records")
    days_used: dict[str, set[str]] = {w["worker_id"]: set() for w in staff}
    minutes_used: dict[tuple[str, str], int] = {}
    posts = demand.assign(
        minutes=pd.to_datetime(demand["end"], format="%H:%M")
        .sub(pd.to_datetime(demand["start"], format="%H:%M"))
        .dt.total_seconds()
        .floordiv(60)
        .astype(int)
    ).sort_values(["value", "post_id", "window"], ascending=[False, True, True])
    covered = 0.0
    for day in WEEKDAYS:
        for window in WINDOWS:
            busy: set[str] = set()
            for post in posts[posts["window"] == window].itertuples():
                for _ in range(int(post.headcount)):
                    best = None
                    for w in staff:
                        wid = w["worker_id"]
                        if (
                            wid in busy
                            or day not in w["days"]
                            or window not in w["wins"]
                            or post.school_id not in serves[w["vendor_id"]]
                            or minutes_used.get((wid, day), 0) + post.minutes > w["max_minutes_day"]
                            or (
                                day not in days_used[wid]
                                and len(days_used[wid]) >= w["max_days_week"]
                            )
                        ):
                            continue
                        if best is None or len(days_used[wid]) < len(days_used[best]):
                            best = wid
                    if best is None:
                        break
                    busy.add(best)
                    days_used[best].add(day)
                    minutes_used[best, day] = minutes_used.get((best, day), 0) + post.minutes
                    covered += float(post.value)
    return covered


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _run(label: str, roster_inputs: tuple[pd.DataFrame, ...], **kwargs: object) -> Roster:
    started = time.perf_counter()
    roster = build_roster(*roster_inputs, **kwargs)  # type: ignore[arg-type]
    total = time.perf_counter() - started
    s = roster.summary()
    print(
        f"{label:<34} {s['status']:<9} obj={s['objective']:10.2f} bound={s['bound']:10.2f} "
        f"gap={s['gap']:7.4%} solve={s['wall_s']:6.1f}s total={total:6.1f}s "
        f"single-post={s['single_post_worker_windows']:.1%} "
        f"unfilled={s['unfilled_slots']}"
    )
    return roster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the parameter comparison")
    parser.add_argument("--time-limit-s", type=float, default=60.0, help="solver budget, s")
    args = parser.parse_args()
    vendors, workers, demand = synthetic_program(seed=0)
    print(
        f"SYNTHETIC program: {len(vendors)} vendors, {demand['school_id'].nunique()} schools, "
        f"{demand['post_id'].nunique()} posts, {len(demand)} post-windows, "
        f"{len(workers)} workers, Mon-Fri"
    )
    inputs = (vendors, workers, demand)
    base = SolverSettings(time_limit_s=args.time_limit_s)
    ours = _run("ours (defaults)", inputs, settings=base)
    started = time.perf_counter()
    baseline = greedy_roster(vendors, workers, demand)
    print(
        f"baseline (greedy)                  covered value={baseline:.2f} "
        f"({time.perf_counter() - started:.1f}s)"
    )
    print(
        f"ours={ours.objective:.2f} baseline={baseline:.2f} ratio={ours.objective / baseline:.4f}"
    )
    print(f"peak memory (ru_maxrss): {_peak_mb():.0f} MB")
    if args.quick:
        return
    print("\nparameter comparison (60 s budget each):")
    _run("linearization_level=0", inputs, settings=replace(base, linearization_level=0))
    _run("symmetry_in_lp=False", inputs, settings=replace(base, symmetry_in_lp=False))
    _run("num_workers=1 (vendors in turn)", inputs, settings=replace(base, num_workers=1))
    _run("continuity_weight=0 (value only)", inputs, settings=base, continuity_weight=0)
    # One model for the whole program: a shared dummy school joins all vendors into one group.
    joined = vendors.assign(school_ids=vendors["school_ids"] + ";JOIN")
    _run("one model (no decomposition)", (joined, workers, demand), settings=base)


if __name__ == "__main__":
    main()
