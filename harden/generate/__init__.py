"""Builders from a WorkloadSpec to artefacts (pure), and the bundle that gathers them."""
