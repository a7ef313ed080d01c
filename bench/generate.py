"""Bundle generation speed (issue 2): a placeholder until that section lands on main."""

from __future__ import annotations


def main() -> None:
    """Nothing measured yet in this branch."""
