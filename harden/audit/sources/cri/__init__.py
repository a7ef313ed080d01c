"""The CRI source: Kubernetes pods through the runtime.v1 gRPC API, kernel truth from /proc."""
