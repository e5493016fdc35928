"""``python -m leaktriage`` runs the command line."""

from leaktriage.cli import main

raise SystemExit(main())
