"""The CI gate: a policy (packs, threshold, waivers, baseline) over static inputs."""
