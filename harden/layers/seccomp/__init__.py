"""Seccomp profiles: the model, the builder from a workload spec, compilation, simulation, diff."""
