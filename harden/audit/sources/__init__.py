"""Sources: they collect normalised facts about targets, and never decide pass or fail.

Only this package (and ``harden.engine``) touches the outside world for the audit:
the engine API, /proc and /sys, and input files.
"""
