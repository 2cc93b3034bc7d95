"""``make demo``: the Englewood plan on the shared Chicago data.

Runs ``safepassage plan data/examples/englewood.toml --out out/englewood``.
Without the shared data it says where the data comes from, downloads the
Englewood walk network and the Chicago Data Portal tables (internet needed)
and shows the network part of the plan on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import DATA_ENV, default_data_root

EXAMPLE = Path("data/examples/englewood.toml")
OUT = Path("out/englewood")


def _offline_fallback(root: Path) -> int:
    import numpy as np

    from .config import default_cache_dir
    from .errors import SafePassageError
    from .fetch import fetch_area
    from .routes.network import WalkNetwork

    print(
        f"The shared Chicago data is not at {root}.\n"
        "It is a public snapshot of the City of Chicago Data Portal (schools, Safe Passage\n"
        "routes, police incidents, census) and of OpenStreetMap (walk networks); its\n"
        f"PROVENANCE.md lists every file. Set {DATA_ENV} to a copy of it to run the full plan.\n"
        "Fetching the Englewood data now (internet needed) ..."
    )
    cache = default_cache_dir() / "fetched"
    try:
        files = fetch_area("Englewood", cache)
        network = WalkNetwork.from_graphml(files["osm"])
    except SafePassageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Fetched into {cache}: " + ", ".join(str(p.name) for p in files.values()))
    print(network.summary())
    centre = network.nodes[["x", "y"]].to_numpy().mean(axis=0)
    school = int(network.snap(centre[None, :], max_m=1000, strict=True).nodes[0])
    dist = network.shortest_paths([school], limit_m=2400, reverse=True).distances[0]
    print(f"{int(np.isfinite(dist).sum())} nodes lie within a 2.4 km walk of the centre.")
    print("The full plan also needs the census and boundary files of the shared data.")
    return 0


def main() -> int:
    root = default_data_root()
    if not (root / "osm").is_dir():
        return _offline_fallback(root)
    from .cli import main as cli_main

    code = cli_main(["plan", str(EXAMPLE), "--out", str(OUT)])
    if code == 0:
        print(
            f"\nOpen {OUT / 'map.html'} in a browser and the partner packets in {OUT / 'partner'}."
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
