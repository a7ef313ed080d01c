"""Reports: the Report model, its builder, and pure renderers (one per output format)."""
