"""ContainerState: one target (a container or the host's engine) normalised from any source."""
