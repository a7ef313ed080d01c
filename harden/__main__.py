"""``python -m harden`` runs the command-line interface."""

from harden.cli import main

main()
