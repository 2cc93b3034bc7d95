"""Maps of a plan: interactive web maps (folium) and printable PDF post packets."""

from __future__ import annotations

from .plan_data import PlanLike
from .printed import post_packet
from .web import plan_map, save_map

__all__ = ["PlanLike", "plan_map", "post_packet", "save_map"]
