"""safepassage."""
