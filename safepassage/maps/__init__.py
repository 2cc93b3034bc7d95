"""Maps of a plan: interactive web maps (folium), printable PDF post packets and day sheets."""

from __future__ import annotations

from .daysheet import day_sheet
from .plan_data import PlanLike
from .printed import post_packet
from .web import plan_map, save_map

__all__ = ["PlanLike", "day_sheet", "plan_map", "post_packet", "save_map"]
