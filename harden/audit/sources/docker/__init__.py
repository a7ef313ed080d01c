"""Docker and Podman: the engine API (declared state) and saved inspect output."""
