"""safepassage: plan Safe Passage programs.

The public API is imported lazily so that ``import safepassage`` does no work::

    import safepassage
    result = safepassage.plan("data/examples/englewood.toml")
    result.summary()

Every stage is importable on its own: :mod:`safepassage.routes.network`,
:mod:`safepassage.risk`, :mod:`safepassage.routes.origins`,
:mod:`safepassage.routes.paths`, :mod:`safepassage.routes.corridors`,
:mod:`safepassage.staffing.posts`, :mod:`safepassage.staffing.roster`,
:mod:`safepassage.maps.web`, :mod:`safepassage.maps.printed`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "plan": "safepassage.pipeline",
    "PlanResult": "safepassage.result",
    "load_config": "safepassage.config",
    "PlanConfig": "safepassage.config",
    "WalkNetwork": "safepassage.routes.network",
    "stitch": "safepassage.routes.stitch",
    "SafePassageError": "safepassage.errors",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safepassage' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
