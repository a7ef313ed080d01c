"""``harden fix``: a compose file or Kubernetes manifest rewritten hardened.

Fixes come from the gate's own findings (each rule's mechanical fix is data in its pack)
and from a bundle; the YAML keeps its comments, order and formatting
(:mod:`harden.fix.document`); the result is judged by the gate again before anything is
written, and what cannot be fixed mechanically is listed, never changed.
"""
