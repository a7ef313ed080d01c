"""The capability layer: drop ALL, add back only what the spec grants."""
