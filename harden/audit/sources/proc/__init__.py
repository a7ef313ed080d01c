"""Kernel truth from /proc and /sys: what was applied to a container's processes."""
