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


def timed(folder: Path, formats: list[str] | None, runs: int) -> tuple[float, dict[str, str]]:
    times, details = [], {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            result = build(Options(folder=folder, formats=formats, output=Path(out)))
            times.append(time.perf_counter() - started)
            details = {w.format: w.detail for w in result.written}
            entries = len(result.document.cited)
    details["bibliography"] = f"{entries} entries"
    return statistics.median(times), details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=TOOL_ROOT)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    total, details = timed(args.folder, None, args.runs)
    print(f"all editions: {total:.2f} s (median of {args.runs})")
    for fmt in ("html", "docx", "pdf"):
        alone, _ = timed(args.folder, [fmt], args.runs)
        print(f"  {fmt:5} alone: {alone:.2f} s  {details.get(fmt, '')}")
    print(f"  bibliography: {details['bibliography']}")


if __name__ == "__main__":
    main()
