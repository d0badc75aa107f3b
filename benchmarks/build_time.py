"""Time a full build of a report (default: the embedded one): median of N runs.

    .venv/bin/python benchmarks/build_time.py [REPORT_DIR] [--runs 5]

Prints the median wall time of the whole build and of each edition alone,
the PDF's page count and the number of bibliography entries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from press.build import Options, build
from press.resources import TOOL_ROOT


def timed(
    folder: Path, formats: list[str] | None, runs: int, styles: list[str] | None = None
) -> tuple[float, dict[str, str]]:
    times, details = [], {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            options = Options(folder, formats=formats, styles=styles, output=Path(out), cache=False)
            result = build(options)
            times.append(time.perf_counter() - started)
            details = {w.format: w.detail for w in result.written}
            entries = len(result.document.cited)
    details["bibliography"] = f"{entries} entries"
    return statistics.median(times), details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=TOOL_ROOT)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--styles", help="also time a build in these comma-separated styles (cost per extra style)"
    )
    args = parser.parse_args()
    total, details = timed(args.folder, None, args.runs)
    print(f"all editions: {total:.2f} s (median of {args.runs})")
    for fmt in ("html", "docx", "pdf"):
        alone, _ = timed(args.folder, [fmt], args.runs)
        print(f"  {fmt:5} alone: {alone:.2f} s  {details.get(fmt, '')}")
    print(f"  bibliography: {details['bibliography']}")
    if args.styles:
        styles = args.styles.split(",")
        many, _ = timed(args.folder, None, args.runs, styles)
        extra = (many - total) / max(len(styles) - 1, 1)
        print(f"{len(styles)} styles: {many:.2f} s, {extra:.2f} s per extra style")


if __name__ == "__main__":
    main()
