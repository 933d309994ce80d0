"""Entry point for ``python -m hitl_studio``."""

from hitl_studio.cli import main

raise SystemExit(main())
