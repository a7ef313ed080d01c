"""Kubernetes manifests: workload objects, their pod specs and containers."""
