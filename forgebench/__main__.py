"""``python -m forgebench`` runs the command line."""

from forgebench.cli import main

main()
