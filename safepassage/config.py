"""Plan configuration (grown by the pipeline issue); for now the data root."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "default_data_root"]

DATA_ENV = "SAFEPASSAGE_DATA"


def default_data_root(start: Path | None = None) -> Path:
    """Folder holding the shared Chicago data.

    ``$SAFEPASSAGE_DATA`` when set, else ``../shared/data/chicago`` next to the
    checkout (searched upwards from ``start``, default the working directory).
    The folder may not exist; callers say so and how to fetch it.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder.parent / "shared" / "data" / "chicago"
        if candidate.is_dir():
            return candidate
    return here.parent / "shared" / "data" / "chicago"
