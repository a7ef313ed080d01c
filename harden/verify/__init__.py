"""harden verify: every artefact through its real checker, plus cross-layer checks."""
