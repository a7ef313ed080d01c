"""Generated gRPC stubs of the CRI runtime.v1 API (see README.md; do not edit)."""
