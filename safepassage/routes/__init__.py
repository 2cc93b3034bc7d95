"""Routing: walk network, student origins, risk-aware paths and corridors."""
