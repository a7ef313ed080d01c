"""What runs workloads: recording them, proving bundles in the engine, confining local commands."""
