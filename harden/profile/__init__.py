"""Workload specs and the reusable blocks they refer to (owns the ``profiles/`` data folder)."""
