"""The weekly roster at program scale, on the real SY1617 designated routes citywide.

Run: ``.venv/bin/python bench/staffing.py [--data DIR] [--time-limit-s 60] [--synthetic]``.

Instance.  The plan of ``bench/designated.py`` (every visible SY1617 Safe
Passage route matched onto the stitched citywide walk network, posts sited at
the default density, the 5-hour split shift placed by each school's bells) is
run up to its posts; the roster's demand is what the pipeline would give the
solver (:func:`safepassage.stages.roster_demand`), with the walk rule of the
pipeline (morning and afternoon posts of different schools within 800 m along
streets).  The vendor pool is SYNTHETIC and shaped like the program: 22 vendors
over contiguous groups of schools; per vendor, workers enough to fill about 95 %
of its post-windows, floaters included (``ceil(0.95 x post-windows / 9.2)``, 9.2
being a worker's expected post-windows a week); about 15 % miss a weekday and
10 % work mornings or afternoons only (part-time).  Seeded.

Compared on the same instance, in this process:

* ``CP-SAT``: :func:`safepassage.staffing.build_roster` (the pipeline's defaults:
  value first, then sparing the floaters, then continuity), its status and gap;
* ``greedy``: the greedy roster CP-SAT starts from (per weekday and window, the
  most valuable post-windows first, each to the least-used free eligible worker,
  regular workers before floaters, the walk rule kept);
* ``greedy, no walk rule``: the same without the walk rule, to show what the
  rule costs and how often an unconstrained roster breaks it.

Per roster: covered value, post-windows staffed, continuity (share of
worker-windows held at one post all week; share of worker-days at the same post
morning and afternoon), walkability (share of worker-days with both windows
whose two posts satisfy the rule), seconds, and peak memory.  ``--synthetic``
runs the older fully synthetic program (190 schools, 1,500 posts) instead.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import (
    STAFF_COLUMNS,
    add_data_argument,
    peak_rss_mb,
    resolve_data_root,
    synthetic_workers,
)
from designated import config as designated_config
from designated import synthetic_staff

from safepassage.config import StaffingConfig
from safepassage.pipeline import _checked_inputs
from safepassage.schedule import WINDOWS
from safepassage.staffing import Roster, SolverSettings, build_roster, synthetic_program
from safepassage.staffing.model import pick_floaters, split_components
from safepassage.staffing.program import Limits, read_program
from safepassage.staffing.search import greedy_roster, rematch_homes, spare_floaters
from safepassage.staffing.walk import WalkRule, walk_rule
from safepassage.stages import (
    designated_on_network,
    load_network,
    plan_corridors,
    risk_surface,
    roster_demand,
    route_all_schools,
    select_schools,
    site_posts,
    solver_settings,
    staffing_windows,
    student_origins,
    window_risk,
)

N_VENDORS, FILL, SLOTS, FLOATERS = 22, 0.95, 9.2, 0.1


def real_instance(
    root: Path, folder: Path, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, WalkRule]:
    """Vendors, workers, demand and walk rule of the SY1617 designated-routes plan."""
    from safepassage.executor import make_executor

    vendors_path, workers_path = synthetic_staff(root, folder)
    cfg = designated_config(root, folder, vendors_path, workers_path)
    solver = solver_settings(cfg.staffing, cfg.seed)
    started = time.perf_counter()
    network = load_network(cfg.data, cfg.network, cfg.schools)
    inputs = _checked_inputs(cfg, network)
    schools = select_schools(cfg, inputs, network)
    windows = staffing_windows(schools, cfg.windows)
    risk = risk_surface(inputs, network, cfg.risk, cfg.windows)
    by_window = {w: window_risk(risk, w) for w in WINDOWS}
    origins = student_origins(inputs, network, schools, cfg.routes, cfg.network)
    executor = make_executor(1, None)
    try:
        routes = route_all_schools(
            executor, network, schools, origins.origins, by_window, cfg.routes
        )
    finally:
        executor.close()
    designated = designated_on_network(inputs, network, schools, routes, by_window, cfg.routes)
    corridors = plan_corridors(inputs, network, schools, routes, by_window, designated, cfg.routes)
    posts = site_posts(network, corridors, schools, routes, by_window, cfg.posts, solver).table
    assert inputs.vendors is not None
    vendors, demand = roster_demand(posts, windows, inputs.vendors)
    walk = walk_rule(
        network, posts[posts["selected"]], cfg.staffing.walk_between_m, groups=vendors["school_ids"]
    )
    print(
        f"instance built in {time.perf_counter() - started:.0f} s: {demand['school_id'].nunique()} "
        f"schools, {demand['post_id'].nunique()} posts, {len(demand) * 5} post-windows a week, "
        f"{len(walk.close)} walkable pairs of posts of different schools"
    )
    return vendors, program_workers(vendors, demand, seed), demand, walk


def program_workers(vendors: pd.DataFrame, demand: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SYNTHETIC workers shaped like the program (see the module docstring)."""
    rng = np.random.default_rng(seed)
    per_school = demand.groupby("school_id").size() * 5
    rows = []
    for vendor_id, schools in zip(vendors["vendor_id"], vendors["school_ids"], strict=True):
        windows_week = int(per_school.reindex(list(schools)).fillna(0).sum())
        rows += synthetic_workers(rng, vendor_id, math.ceil(FILL * windows_week / SLOTS))
    return pd.DataFrame(rows, columns=STAFF_COLUMNS)


def greedy_assignments(
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    walk: WalkRule | None,
    rematch: bool = False,
) -> pd.DataFrame:
    """The greedy roster CP-SAT starts from, over every vendor group (see the docstring);
    ``rematch``: then floaters spared and workers re-matched to home posts, as CP-SAT's
    continuity round is hinted (no solver)."""
    program = read_program(vendors, workers, demand, Limits(), walk)
    rows = []
    for comp in split_components(program, pick_floaters(program.workers, FLOATERS)):
        keys = sorted(greedy_roster(comp))
        if rematch:
            keys = rematch_homes(comp, spare_floaters(comp, keys))
        for wi, pi, day in keys:
            w, p = comp.workers[wi], comp.posts[pi]
            rows.append((w.worker_id, p.post_id, p.school_id, day, p.window, p.value))
    return pd.DataFrame(
        rows, columns=["worker_id", "post_id", "school_id", "weekday", "window", "value"]
    )


def measures(table: pd.DataFrame, demand: pd.DataFrame, walk: WalkRule) -> dict[str, float]:
    """Covered value, staffed, continuity and walkability of a roster's assignments."""
    if "value" not in table:
        value = demand.set_index(["post_id", "window"])["value"]
        table = table.assign(
            value=[value[p, w] for p, w in zip(table["post_id"], table["window"], strict=True)]
        )
    per_window = table.groupby(["worker_id", "window"])["post_id"].nunique()
    days = table.pivot_table(
        index=["worker_id", "weekday"], columns="window", values="post_id", aggfunc="first"
    )
    both = days.dropna() if set(WINDOWS) <= set(days.columns) else days.iloc[:0]
    school = dict(zip(demand["post_id"], demand["school_id"], strict=False))
    ok = [
        walk.allows(a, school[a], b, school[b])
        for a, b in zip(both.get("am", []), both.get("pm", []), strict=True)
    ]
    return {
        "value": float(table["value"].sum()),
        "staffed": float(len(table)),
        "single_post": float((per_window == 1).mean()) if len(per_window) else 1.0,
        "same_post_day": float((both["am"] == both["pm"]).mean()) if len(both) else 1.0,
        "walkable": float(np.mean(ok)) if ok else 1.0,
        "split_days": float(len(both)),
    }


def _line(label: str, m: dict[str, float], seconds: float, extra: str = "") -> None:
    print(
        f"{label:<24} value={m['value']:10.2f} staffed={m['staffed']:6.0f} "
        f"one-post={m['single_post']:6.1%} same-post-am/pm={m['same_post_day']:6.1%} "
        f"walkable={m['walkable']:7.2%} ({m['split_days']:.0f} split days) "
        f"{seconds:6.1f} s {extra}"
    )


def compare(
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    demand: pd.DataFrame,
    walk: WalkRule,
    settings: SolverSettings,
) -> None:
    print(
        f"{len(vendors)} vendors, {len(workers)} workers "
        f"({(workers['windows'] != 'am;pm').mean():.0%} one window, "
        f"{(workers['weekdays'].str.count(';') < 4).mean():.0%} four days), "
        f"{len(demand) * 5} post-windows a week, floater share {FLOATERS}"
    )
    found = {}
    for label, method in (("CP-SAT", "cp-sat"), ("default (auto)", "auto")):
        started = time.perf_counter()
        roster: Roster = build_roster(
            vendors,
            workers,
            demand,
            floater_share=FLOATERS,
            settings=settings,
            walk=walk,
            method=method,
        )
        seconds = time.perf_counter() - started
        found[method] = measures(roster.assignments, demand, walk)
        _line(
            label,
            found[method],
            seconds,
            f"{roster.status} gap={roster.gap:.4%} bound={roster.bound:.2f} "
            f"unfilled={int(roster.unfilled['missing'].sum())}",
        )
    rows = (
        ("greedy", {"walk": walk}),
        ("greedy + re-match", {"walk": walk, "rematch": True}),
        ("greedy, no walk rule", {"walk": None}),
    )
    for label, options in rows:
        started = time.perf_counter()
        table = greedy_assignments(vendors, workers, demand, **options)  # type: ignore[arg-type]
        found[label] = measures(table, demand, walk)
        _line(label, found[label], time.perf_counter() - started)
    cp, greedy = found["cp-sat"], found["greedy + re-match"]
    print(
        f"CP-SAT / greedy + re-match: value {cp['value'] / greedy['value']:.5f}, "
        f"one-post {cp['single_post'] - greedy['single_post']:+.1%}, "
        f"same-post-am/pm {cp['same_post_day'] - greedy['same_post_day']:+.1%}, "
        f"walkable {cp['walkable'] - greedy['walkable']:+.2%} "
        f"(greedy without the rule: {found['greedy, no walk rule']['walkable']:.2%} walkable)"
    )
    print(f"peak memory (VmHWM): {peak_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--time-limit-s", type=float, default=60.0, help="solver budget, s")
    parser.add_argument("--seed", type=int, default=1617, help="seed of the synthetic staff")
    parser.add_argument(
        "--synthetic", action="store_true", help="the fully synthetic program instead"
    )
    args = parser.parse_args()
    # the pipeline's CP-SAT settings: [staffing] defaults, deterministic limits
    options = StaffingConfig(time_limit_s=args.time_limit_s)
    settings = solver_settings(options, args.seed)
    if args.synthetic:
        vendors, workers, demand = synthetic_program(seed=0)
        compare(vendors, workers, demand, WalkRule(800.0), settings)
        return
    root = resolve_data_root(args.data)
    with tempfile.TemporaryDirectory(prefix="bench-staffing-") as tmp:
        vendors, workers, demand, walk = real_instance(root, Path(tmp), args.seed)
    compare(vendors, workers, demand, walk, settings)


if __name__ == "__main__":
    main()
