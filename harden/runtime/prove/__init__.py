"""Proving that a workload still works under its bundle, in the real engine."""
