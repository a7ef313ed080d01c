"""Cross-layer consistency: contradictions between the layers of one bundle."""
