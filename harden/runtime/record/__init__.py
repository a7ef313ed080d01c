"""Observing what workloads and container runtimes really do."""
