"""Maps of a plan: interactive web maps (folium), printable PDF post packets and day sheets.

The names below are imported lazily: a day sheet (``safepassage replan``) loads
matplotlib alone, not folium and the network.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .daysheet import day_sheet
    from .plan_data import PlanLike
    from .printed import post_packet
    from .web import plan_map, save_map

_LAZY = {
    "PlanLike": "plan_data",
    "day_sheet": "daysheet",
    "plan_map": "web",
    "post_packet": "printed",
    "save_map": "web",
}

__all__ = ["PlanLike", "day_sheet", "plan_map", "post_packet", "save_map"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safepassage.maps' has no attribute {name!r}")
    return getattr(importlib.import_module(f"safepassage.maps.{module}"), name)
