"""Static inputs for the CI gate: manifests, compose, inspect dumps, bundles -> TargetState."""
