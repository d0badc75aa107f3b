"""Command line: ``python build.py [REPORT_DIR] [--format ...] [--style ...] [--output DIR]``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from press.build import Options, build
from press.config import FORMATS
from press.errors import BuildError
from press.resources import TOOL_ROOT


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="build.py",
        description="Build the PDF, DOCX and HTML editions of a report.",
    )
    p.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=TOOL_ROOT,
        metavar="REPORT_DIR",
        help="report folder with report.yaml and content/ (default: this repository's report)",
    )
    p.add_argument(
        "--format",
        dest="formats",
        type=_formats,
        metavar="LIST",
        help=f"editions to build, comma-separated from {','.join(FORMATS)} (default: report.yaml)",
    )
    p.add_argument("--style", metavar="NAME_OR_PATH", help="CSL style name or .csl file")
    p.add_argument(
        "--output", type=Path, metavar="DIR", help="where editions go (default: REPORT_DIR/output)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = _Warnings()
    logger = logging.getLogger("press")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        result = build(
            Options(folder=args.folder, formats=args.formats, style=args.style, output=args.output)
        )
    except BuildError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"build failed: {count} problem{'s' * (count != 1)}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)
    if not args.quiet:
        style = result.document.style
        print(f"{result.config.title} ({style.title})")
        for item in result.written:
            print(f"  {item.format:5} {_shown(item.path)}  {item.detail}")
        print(f"built {len(result.written)} editions in {result.seconds:.1f} s")
    return 0


class _Warnings(logging.Handler):
    """Prints the warnings the stages log (each a Problem, so one line with its place)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(record.getMessage(), file=sys.stderr)


def _formats(text: str) -> list[str]:
    return [f.strip() for f in text.split(",") if f.strip()]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
