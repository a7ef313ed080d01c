"""Talking to a container engine (Docker Engine API; Podman through its Docker-compatible API)."""
