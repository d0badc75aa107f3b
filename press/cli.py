"""Command line.

python build.py [REPORT_DIR] [--format LIST] [--style LIST] [--output DIR] [-q]
python build.py styles [WORD]
python build.py styles --preview NAME [NAME ...] [--report REPORT_DIR] [--output DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from press import cache
from press.config import CONFIG_NAME, FORMATS
from press.errors import BuildError, Problem
from press.resources import TOOL_ROOT


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="build.py",
        description="Build the PDF, DOCX and HTML editions of a report.",
        epilog="Other commands: 'build.py check' proves the editions agree and lints the "
        "bibliography; 'build.py styles [WORD]' lists citation styles; 'build.py styles "
        "--preview NAME ...' compares styles on the report's own sources; 'build.py clean' "
        "deletes the build cache.",
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
        type=_comma_list,
        metavar="LIST",
        help=f"editions to build, comma-separated from {','.join(FORMATS)} (default: report.yaml)",
    )
    p.add_argument(
        "--style",
        dest="styles",
        type=_comma_list,
        metavar="LIST",
        help="CSL style names or .csl files, comma-separated; several build side by side",
    )
    p.add_argument(
        "--output", type=Path, metavar="DIR", help="where editions go (default: REPORT_DIR/output)"
    )
    p.add_argument("--strict", action="store_true", help="treat every warning as an error")
    p.add_argument(
        "--no-check",
        action="store_true",
        help="skip the edition parity check and bibliography lint",
    )
    p.add_argument("--no-cache", action="store_true", help="rebuild everything, ignoring .cache/")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.add_argument("-v", "--verbose", action="store_true", help="also print each stage's time")
    p.add_argument(
        "--watch",
        action="store_true",
        help="rebuild on every save and serve the HTML edition on localhost with live reload",
    )
    p.add_argument("--port", type=int, default=8000,
                   help="port for --watch (default 8000; 0: any free one)")  # fmt: skip
    return p


def check_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="build.py check",
        description="Prove the built editions agree and lint the bibliography.",
    )
    p.add_argument("folder", nargs="?", type=Path, default=TOOL_ROOT, metavar="REPORT_DIR")
    p.add_argument("--output", type=Path, metavar="DIR", help="where the editions are")
    p.add_argument("--format", dest="as_", choices=("table", "json"), default="table")
    p.add_argument("--strict", action="store_true", help="exit non-zero on warnings too")
    return p


def styles_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="build.py styles",
        description="List the official CSL styles whose name or title contains WORD, "
        "or preview styles side by side on the report's own citations.",
    )
    p.add_argument(
        "words", nargs="*", metavar="WORD", help="filter (or style names with --preview)"
    )
    p.add_argument("--preview", action="store_true", help="write output/style-preview.html")
    p.add_argument("--report", type=Path, default=TOOL_ROOT, metavar="REPORT_DIR")
    p.add_argument("--output", type=Path, metavar="DIR")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command: Callable[[list[str]], int] = run_build
    if args[:1] == ["styles"]:
        command, args = run_styles, args[1:]
    elif args[:1] == ["check"]:
        command, args = run_check, args[1:]
    elif args[:1] == ["clean"]:
        command, args = run_clean, args[1:]
    handler = _Warnings()
    logger = logging.getLogger("press")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    previous = _on_sigterm_interrupt()
    try:
        return command(args)
    except BuildError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"failed: {count} problem{'s' * (count != 1)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: no edition was changed", file=sys.stderr)
        return 130
    except BrokenPipeError:  # its reader stopped reading (`build.py styles | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the rest unsaid
        return 1
    except Exception:
        traceback.print_exc()
        print("internal error: this is a bug in press, not in the report; please report it",
              file=sys.stderr)  # fmt: skip
        return 2
    finally:
        logger.removeHandler(handler)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm_interrupt() -> signal.Handlers | None:
    """Make SIGTERM unwind like Ctrl-C, so staging files are removed on the way out."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, interrupt)  # type: ignore[return-value]


def run_build(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    folder = args.folder.resolve()
    if args.watch:
        from press.watch import Watcher

        return Watcher(folder, args.port, quiet=args.quiet).run()
    settings = [args.formats, args.styles, args.output and args.output.resolve(), args.strict]
    stamp = ""
    if (folder / CONFIG_NAME).is_file():  # else no report: the build says so, the folder unread
        stamp = cache.fingerprint(folder, [*settings, args.no_check])
        if not args.no_cache and (done := cache.up_to_date(folder, stamp)):
            if not args.quiet:
                print("up to date: nothing changed since the last build")
                for path in done:
                    print(f"  {_shown(path)}")
            return 0
    from press.build import Options, build  # the writers' libraries load only when needed

    options = Options(
        args.folder,
        formats=args.formats,
        styles=args.styles,
        output=args.output,
        strict=args.strict,
        check=not args.no_check,
        cache=not args.no_cache,
    )
    live = sys.stdout.isatty() and not args.quiet
    if live:
        result = _with_live_display(options)
    else:
        if not args.quiet:  # a line for each stage and edition as it ends
            options = dataclasses.replace(
                options,
                on_stage=lambda *said: _say(_stage_line(*said)),
                on_edition=lambda *said: _say(_edition_line(*said)),
            )
        result = build(options)
    cache.remember(folder, stamp, [w.path for w in result.written])
    if not args.quiet:
        titles = ", ".join(d.style.title for d in result.documents)
        print(f"{result.config.title} ({titles})")
        for item in result.written:
            print(f"  {item.format:5} {_shown(item.path)}  {item.detail}")
        count = len(result.written)
        checked = ", checked: the editions agree" if not args.no_check else ""
        print(f"built {count} edition{'s' * (count != 1)} in {result.seconds:.1f} s{checked}")
        if result.findings:
            print(f"bibliography: {summary(result.findings)} (build.py check lists them)")
    if args.verbose and live:  # said as they ended otherwise
        for stage, seconds in result.timings.items():
            print(_stage_line(stage, seconds))
        for item in result.written:
            print(_edition_line(item.format, item.style, item.seconds))
    return 0


_SAYING = threading.Lock()


def _say(line: str) -> None:
    """Print ``line`` whole, now (the writers' threads tell their editions as they come)."""
    with _SAYING:
        print(line, flush=True)


def _stage_line(stage: str, seconds: float) -> str:
    return f"  stage {stage:15} {seconds:6.2f} s"


def _edition_line(fmt: str, style: str, seconds: float) -> str:
    return f"    edition {fmt:7} {seconds:6.2f} s  ({style})"


STAGES = ("read and parse", "citations", "editions", "parity check", "lint")


def _with_live_display(options):  # type: ignore[no-untyped-def]
    """The build with a live line of its stages on a terminal (rich), and during the
    editions' stage how far each edition has got, then its time."""
    from rich.console import Console

    from press.build import build

    console = Console(stderr=True)
    done: list[str] = []
    editions: dict[tuple[str, str], str] = {}  # (format, style): how far, in order of news
    lock = threading.Lock()
    with console.status("read and parse") as status:

        def show() -> None:
            line = " · ".join(done)
            if len(done) < len(STAGES):  # the stage under way, and what it has done so far
                several = len({style for _fmt, style in editions}) > 1
                news = ", ".join(f"{fmt}{f' ({style})' if several else ''} {said}"
                                 for (fmt, style), said in editions.items())  # fmt: skip
                line += f"{' · ' if done else ''}{STAGES[len(done)]} ... {news}"
            status.update(line.rstrip())

        def on_stage(stage: str, seconds: float) -> None:
            with lock:
                done.append(f"{stage} {seconds:.1f} s")
                editions.clear()
                show()

        def told(fmt: str, style: str, said: str) -> None:
            with lock:
                editions[fmt, style] = said
                show()

        return build(dataclasses.replace(
            options, on_stage=on_stage, on_progress=told,
            on_edition=lambda fmt, style, seconds: told(fmt, style, f"{seconds:.1f} s"),
        ))  # fmt: skip


def run_clean(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py clean", description="Delete the build cache.")
    parser.add_argument("folder", nargs="?", type=Path, default=TOOL_ROOT, metavar="REPORT_DIR")
    folder = parser.parse_args(argv).folder.resolve()
    removed = cache.clean(folder)
    print(f"removed {folder / cache.CACHE_DIR}" if removed else "no cache to remove")
    return 0


def run_check(argv: list[str]) -> int:
    args = check_parser().parse_args(argv)
    from press.check import check_report

    findings = check_report(args.folder, args.output)
    if args.as_ == "json":
        rows = [dataclasses.asdict(p) for p in findings]
        print(json.dumps({"findings": rows, "summary": counts(findings)}, indent=2))
    else:
        print(table(findings))
        print(summary(findings))
    errors = any(p.severity == "error" for p in findings)
    return 1 if errors or (args.strict and findings) else 0


def counts(findings: Sequence[Problem]) -> dict[str, int]:
    out: dict[str, int] = {}
    for problem in findings:
        out[problem.code] = out.get(problem.code, 0) + 1
    return dict(sorted(out.items()))


def summary(findings: Sequence[Problem]) -> str:
    errors = sum(p.severity == "error" for p in findings)
    warnings = len(findings) - errors
    kinds = ", ".join(f"{code} {n}" for code, n in counts(findings).items())
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}" + (
        f" ({kinds})" if kinds else ""
    )


def table(findings: Sequence[Problem]) -> str:
    if not findings:
        return "no findings"
    rows = [
        (p.path if p.line is None else f"{p.path}:{p.line}", p.severity, p.code, p.message)
        for p in findings
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{a:{widths[0]}}  {b:{widths[1]}}  {c:{widths[2]}}  {d}" for a, b, c, d in rows
    )


def run_styles(argv: list[str]) -> int:
    args = styles_parser().parse_args(argv)
    if args.preview:
        from press.preview import write_preview

        if not args.words:
            styles_parser().error("--preview needs one or more style names")
        path = write_preview(args.report, args.words, args.output)
        print(f"wrote {_shown(path)}")
        return 0
    from press.styles import catalogue

    word = " ".join(args.words)
    entries = catalogue(word)
    for entry in entries:
        parent = f"  (uses {entry.parent})" if entry.parent else ""
        print(f"{entry.name:50} {entry.title}{parent}")
    print(f"{len(entries)} style{'s' * (len(entries) != 1)}", file=sys.stderr)
    return 0 if entries else 1


class _Warnings(logging.Handler):
    """Prints the warnings the stages log (each a Problem, so one line with its place)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(record.getMessage(), file=sys.stderr)


def _comma_list(text: str) -> list[str]:
    return [f.strip() for f in text.split(",") if f.strip()]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
