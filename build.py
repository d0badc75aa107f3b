"""Build the report in this folder (or the one given): python build.py --help."""

from press.cli import main

raise SystemExit(main())
