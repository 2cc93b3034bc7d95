"""Train the Chicago style model shipped in the package (``safepassage/routes/chicago_style.json``).

Run: ``.venv/bin/python bench/train_style.py [--data DIR] [--out FILE] [--seed 0]``.

Training data (shared Chicago folder, see ``bench/routes_reference.py``
:func:`load_city`): the stitched citywide 2019 walk network; every SY1617
school with a visible published route; the visible route *lines* of SY1314,
SY1516 and SY1617 matched onto the network (a school's years pooled); 2016 gun
crimes for the risk feature.  The routes touching Austin and Roseland are
withheld from the shared data, so the model never saw them: planning those
areas with it is an honest test.

The growth parameters (:class:`~safepassage.routes.style.GrowthParameters`)
are the ones chosen by ``bench/routes_reference.py --cv --tune`` and written
here as constants; the budget model is fitted on the same schools' SY1617
route lengths.  Deterministic for one ``--seed``; prints the training time,
the file size and the feature importances.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_data_argument, resolve_data_root
from routes_reference import GROWTH, load_city, style_samples

from safepassage.routes.style import DEFAULT_MODEL, fit_budget, train_style

OUT = Path(__file__).resolve().parents[1] / "safepassage" / "routes" / DEFAULT_MODEL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_argument(parser)
    parser.add_argument("--out", type=Path, default=OUT, help=f"model file (default {OUT})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    city = load_city(resolve_data_root(args.data))
    print("setup seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in city.seconds.items()))
    samples = style_samples(city, city.schools["school_id"])
    start = time.perf_counter()
    style = train_style(
        [(segments, labels) for _, segments, labels in samples],
        seed=args.seed,
        growth=GROWTH,
        about={
            "trained_on": "Chicago Safe Passage route lines SY1314, SY1516, SY1617 (visible "
            "routes; Austin and Roseland withheld), 2019 OSM walk network, 2016 gun crimes",
            "schools": len(samples),
            "script": "bench/train_style.py",
        },
    )
    seconds = time.perf_counter() - start
    official = city.reference.dissolve("school_id").length
    schools = city.schools[city.schools["school_id"].isin(official.index)]
    coef = fit_budget(schools, city.everyone, official.loc[schools["school_id"]].to_numpy())
    style = dataclasses.replace(style, budget_coef=coef)
    path = style.save(args.out)
    print(
        f"trained on {len(samples)} schools, {style.about['samples']:,} segments in {seconds:.1f} s"
    )
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    print("feature importances (share of split gain):")
    for name, share in sorted(style.importances.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<18} {share:.3f}")
    print(
        f"budget: log(m) = {coef[0]:.3f} + "
        + " + ".join(
            f"{c:.3f} x {n}"
            for c, n in zip(
                coef[1:], ("log_enrollment", "high_school", "neighbours_1km"), strict=True
            )
        )
    )


if __name__ == "__main__":
    main()
