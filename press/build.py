"""Runs the stages in order; no format logic of its own.

config -> styles -> sections -> bibliography -> parsed once -> per style: citeproc
once -> editions. Editions are written into a staging folder inside the output
folder and renamed into place only when every one of them succeeded, so a failed
build leaves the previous editions untouched and no partial file behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from press import cache
from press.bibliography import Bibliography, load_bibliography
from press.check import parity
from press.citations import Document, Parsed, parse, resolve
from press.config import Config, load_config
from press.design import load_design
from press.editions import EDITIONS, Job, preload, rehearsal, write_all
from press.errors import BuildError, Problem, captured, problems_in, warning
from press.extract import Reading, print_reading
from press.lint import lint
from press.sources import load_sections
from press.styles import Style, resolve_style

log = logging.getLogger("press")


@dataclass(frozen=True)
class Options:
    folder: Path
    formats: Sequence[str] | None = None
    styles: Sequence[str] | None = None
    output: Path | None = None
    strict: bool = False
    """Fail on any warning (nothing is written)."""
    check: bool = True
    """Prove the editions agree before they replace the last ones; lint the bibliography."""
    cache: bool = True
    """Reuse the results of earlier builds (.cache/ in the report folder). Without it the
    build keeps its results in its temporary folder, for itself alone: its writers read
    their editions' text as they write them, and the parity check finds it there (the
    seed's check 0.17 -> 0.01 s)."""
    on_stage: Callable[[str, float], None] | None = None
    """Told each stage's name and seconds as it ends (the CLI's live display)."""
    on_edition: Callable[[str, str, float], None] | None = None
    """Told each edition's format, style and seconds as it is written (from another thread,
    for some)."""
    on_progress: Callable[[str, str, str], None] | None = None
    """Told an edition's format, style and how far it has got (the PDF: its chapters laid
    out, from another thread at times)."""


@dataclass(frozen=True)
class Written:
    format: str
    style: str
    path: Path
    detail: str
    seconds: float = 0.0
    """How long writing it took (the editions are written side by side)."""


@dataclass(frozen=True)
class Result:
    config: Config
    documents: tuple[Document, ...]
    written: tuple[Written, ...]
    seconds: float
    findings: tuple[Problem, ...] = ()
    """The bibliography lint (build.py check lists them)."""
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    """Wall seconds per stage."""

    @property
    def document(self) -> Document:
        return self.documents[0]


def prepare(options: Options) -> tuple[Config, list[Style], Parsed]:
    """Everything up to citeproc: the checked config, styles and parsed report (meanwhile
    the libraries of the editions it names load in the background)."""
    overrides = {"citation-style": options.styles, "formats": options.formats}
    config = load_config(options.folder, overrides)
    preload(config.formats)
    styles, problems = [], []
    for spec in config.citation_styles:
        try:
            styles.append(resolve_style(spec, config.folder))
        except BuildError as exc:
            problems += exc.problems
    if problems:
        raise BuildError(problems)
    bibliography = load_bibliography(config)
    parsed = parse(config, load_sections(config), bibliography)
    _warn_uncited(bibliography, parsed)
    return config, styles, parsed


_BUILDING = threading.Lock()
"""One build at a time in a process (watch mode's threads): a build sets the process's
temporary folder (:func:`scratch`), its active cache and its writers' state."""


def build(options: Options) -> Result:
    folder = options.folder.resolve()
    with (
        _BUILDING,
        scratch() as temporary,
        captured() as records,
        cache.using(cache.Cache(folder if options.cache else temporary)) as store,
    ):
        result = _build(options, lambda: problems_in(records) if options.strict else [])
        store.prune()
        return result


def _build(options: Options, strict_failures: Callable[[], list[Problem]]) -> Result:
    started = time.perf_counter()
    clock = _Clock(options.on_stage)
    config, styles, parsed = prepare(options)
    clock.mark("read and parse")
    design = load_design(config.folder)
    output = (options.output or config.folder / "output").resolve()
    documents, written = [], []
    with staged(output) as stage:
        tasks = []
        for style in styles:
            locale = citation_locale(config, style)
            document = resolve(parsed, style, locale, rehearsal(config, design))
            documents.append(document)
            job = Job(config, document, design)
            for name in config.formats:
                final = output / f"{config.edition_stem(style.name)}{EDITIONS[name].suffix}"
                tasks.append((name, style.name, final, job))
        clock.mark("citations")

        def on_written(index: int, seconds: float) -> None:
            if options.on_edition:
                options.on_edition(tasks[index][0], tasks[index][1], seconds)

        def on_progress(index: int, text: str) -> None:
            if options.on_progress:
                options.on_progress(tasks[index][0], tasks[index][1], text)

        staged_tasks = [(n, j, stage / f.name) for n, _s, f, j in tasks]
        for (name, style_name, final, _job), (detail, seconds) in zip(
            tasks, write_all(staged_tasks, on_written, on_progress), strict=True
        ):
            written.append(Written(name, style_name, final, detail, seconds))
        clock.mark("editions")
        with _collector_paused():
            if options.check:
                problems = []
                for style in styles:
                    staged_paths = {
                        w.format: stage / w.path.name for w in written if w.style == style.name
                    }
                    problems += _checked_parity(staged_paths, print_reading(config, design))
                if problems:  # raised inside the stage: nothing is renamed into place
                    raise BuildError(problems)
            clock.mark("parity check")
            failures = strict_failures()
            if failures:
                raise BuildError(dataclasses.replace(w, severity="error") for w in failures)
            findings = lint(parsed.bibliography, list(parsed.cited), styles[0], dt.date.today())
            clock.mark("lint")
    seconds = time.perf_counter() - started
    return Result(config, tuple(documents), tuple(written), seconds, tuple(findings), clock.laps)


class _Clock:
    """Wall time per stage, for --verbose and the benchmark."""

    def __init__(self, listener: Callable[[str, float], None] | None = None) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}
        self.listener = listener

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = self.laps.get(stage, 0.0) + now - self.last
        self.last = now
        if self.listener:
            self.listener(stage, self.laps[stage])


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the block runs. After the editions this
    process still holds the whole report (x50: 220,000 objects), and a collection set off by
    the check's or the lint's lists walked them all: at x50 the check 0.40 -> 0.22 s, the
    lint 0.26 -> 0.09 in one build. What the block leaves in cycles is collected later
    (build.py ends the process before that)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _checked_parity(paths: dict[str, Path], reading: Reading) -> list[Problem]:
    """The parity check, skipped for editions already found to agree (same bytes)."""
    store = cache.active()
    digest = cache.key("parity", sorted((f, hashlib.sha256(p.read_bytes()).hexdigest())
                                        for f, p in paths.items()))  # fmt: skip
    if store.get("parity", digest) is not None:
        return []
    problems = parity(paths, reading)
    if not problems:
        store.put("parity", digest, b"agree")
    return problems


def citation_locale(config: Config, style: Style) -> str:
    """report.yaml's ``lang`` if set, else the style's own default locale, else en-US."""
    return config.lang or style.default_locale or config.language


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary folder for the build and every process it starts (tempfile's default, and
    TMPDIR, while it runs), removed after it with whatever the libraries left in it: worker
    processes end without running finalizers, and WeasyPrint's copy of the report's fonts
    (5.8 MB per process that lays out a chapter) stayed behind in /tmp after every build."""
    folder = Path(tempfile.mkdtemp(prefix="press-build-"))
    before = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = os.environ["TMPDIR"] = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = before[0]
        if before[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before[1]
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def staged(output: Path) -> Iterator[Path]:
    """A staging folder in ``output``; its files replace their namesakes only if all went well."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".press-", dir=output))
    except OSError as exc:
        message = f"cannot write the output folder: {exc.strerror}"
        raise BuildError([Problem(str(output), None, message, "output.unwritable")]) from None
    try:
        yield stage
        for path in sorted(stage.iterdir()):
            os.replace(path, output / path.name)
    except OSError as exc:
        message = f"cannot write the editions: {exc.strerror}"
        raise BuildError([Problem(str(output), None, message, "output.write")]) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _warn_uncited(bibliography: Bibliography, parsed: Parsed) -> None:
    cited = set(parsed.cited)
    for key in bibliography.ids:
        if key not in cited:
            line = bibliography.lines.get(key)
            message = f"entry '{key}' is never cited"
            log.warning(warning(bibliography.shown, line, message, "bib.uncited"))
