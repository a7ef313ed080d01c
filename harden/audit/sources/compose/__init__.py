"""Compose files: each service as the container the engine would create."""
