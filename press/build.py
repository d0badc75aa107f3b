"""Runs the stages in order; no format logic of its own.

config -> style -> sections -> bibliography -> one processed document -> editions.
Editions are written into a staging folder inside the output folder and renamed
into place only when every one of them succeeded, so a failed build leaves the
previous editions untouched and no partial file behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from press.citations import Bibliography, Document, load_bibliography, process
from press.config import Config, load_config
from press.design import load_design
from press.editions import EDITIONS, Job
from press.errors import BuildError, Problem, warning
from press.sources import load_sections
from press.styles import resolve_style

log = logging.getLogger("press")


@dataclass(frozen=True)
class Options:
    folder: Path
    formats: Sequence[str] | None = None
    style: str | None = None
    output: Path | None = None


@dataclass(frozen=True)
class Written:
    format: str
    path: Path
    detail: str


@dataclass(frozen=True)
class Result:
    config: Config
    document: Document
    written: tuple[Written, ...]
    seconds: float


def build(options: Options) -> Result:
    started = time.perf_counter()
    overrides = {"citation-style": options.style, "formats": options.formats}
    config = load_config(options.folder, overrides)
    style = resolve_style(config.citation_style, config.folder)
    sections = load_sections(config)
    bibliography = load_bibliography(config)
    document = process(config, sections, bibliography, style)
    _warn_uncited(bibliography, document)
    job = Job(config, document, load_design(config.folder))
    output = (options.output or config.folder / "output").resolve()
    written = []
    with staged(output) as stage:
        for name in config.formats:
            edition = EDITIONS[name]
            final = output / f"{config.output}{edition.suffix}"
            detail = edition.write(job, stage / final.name)
            written.append(Written(name, final, detail))
    return Result(config, document, tuple(written), time.perf_counter() - started)


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


def _warn_uncited(bibliography: Bibliography, document: Document) -> None:
    cited = set(document.cited)
    for key in bibliography.ids:
        if key not in cited:
            line = bibliography.lines.get(key)
            log.warning(
                warning(bibliography.shown, line, f"entry '{key}' is never cited", "bib.uncited")
            )
