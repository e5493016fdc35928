"""``python -m leaktriage`` runs the command line, sandboxed like the console script."""

from leaktriage.cli import entry

entry()
