"""One writer per format behind one small interface, registered by name.

A writer takes the one processed :class:`~press.citations.Document` (inside a
:class:`Job`) and writes its edition to the path it is given; it never runs
citeproc again. Adding a format means one module and one line in ``EDITIONS``.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from press import cache
from press.citations import Document
from press.config import Config
from press.design import Design
from press.editions.wordcheck import office
from press.errors import Problem, captured, problems_in
from press.resources import TOOL_ROOT

log = logging.getLogger("press")
T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None
_tasks: list[tuple[str, Job, Path]] = []
"""The editions being written, for the workers forked with them (see :func:`write_all`)."""


@dataclass(frozen=True)
class Job:
    """Everything a writer may use: the settings, the processed document, the design."""

    config: Config
    document: Document
    design: Design


class Edition(Protocol):
    name: str
    suffix: str
    splits: bool
    """Whether the writer divides its own work with :func:`parallel` (it then runs in the
    main process while the other writers run in the workers)."""

    def write(self, job: Job, target: Path) -> str:
        """Write the edition to ``target`` (a staging path; the caller renames it).

        Returns a few words on what was written, such as ``24 pages``.
        """
        ...


def write_all(tasks: list[tuple[str, Job, Path]]) -> list[tuple[str, float]]:
    """Write editions (format, job, target) concurrently in worker processes; their details
    and the seconds each took.

    The writers share nothing but the processed document they are given, so a cold
    build costs little more than its slowest writer. A writer that ``splits`` its work
    (the PDF, by chapter) runs here and hands its pieces to the same workers. There is one
    worker more than cores: the Word writer mostly waits for pandoc and LibreOffice. Warnings
    logged in a worker are logged again here; a problem in any of them fails the build.
    """
    global _pool, _tasks
    if (os.cpu_count() or 1) <= 1:
        return [_write(*task)[::2] for task in tasks]
    # The workers are forked with the tasks in memory and are told only which to do: the
    # processed document is not pickled into each of them (at x50, 300 MiB saved at peak).
    _tasks = tasks
    gc.freeze()  # and the objects they inherit stay shared, not copied when the GC visits them
    pool = ProcessPoolExecutor(
        (os.cpu_count() or 1) + 1,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_signals,
    )
    here = [i for i, (name, _job, _target) in enumerate(tasks) if EDITIONS[name].splits]
    try:
        futures = {i: pool.submit(_write_task, i) for i in range(len(tasks)) if i not in here}
        _pool = pool
        done = {i: _write(*tasks[i]) for i in here}
        results = [done[i] if i in done else futures[i].result() for i in range(len(tasks))]
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()  # an interrupted or failed build stops every writer at once
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        _pool = None
        _tasks = []
        gc.unfreeze()
    pool.shutdown()
    for _detail, warnings, _seconds in results:
        for problem in warnings:
            log.warning(problem)
    return [(detail, seconds) for detail, _warnings, seconds in results]


def _worker_signals() -> None:
    """Workers leave Ctrl-C to the main process, which stops them with SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def parallel(function: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
    """``function(*args)`` for each of ``calls``, in the build's worker processes when a
    writer running in the main process asks, else one after the other; results in order."""
    if _pool is None:
        return [function(*args) for args in calls]
    return [future.result() for future in [_pool.submit(function, *args) for args in calls]]


def _write_task(index: int) -> tuple[str, list[Problem], float]:
    return _write(*_tasks[index])


def _write(name: str, job: Job, target: Path) -> tuple[str, list[Problem], float]:
    """Write one edition, returning its detail, the warnings it logged and its seconds."""
    started = time.perf_counter()
    in_worker = multiprocessing.parent_process() is not None
    with captured(only_here=True) if in_worker else nullcontext([]) as records:
        detail = _write_or_reuse(name, job, target)
    return detail, problems_in(records), time.perf_counter() - started


def _write_or_reuse(name: str, job: Job, target: Path) -> str:
    store = cache.active()
    digest = cache.key("edition", name, job.document.ast, _settings_for(name, job.config),
                       repr(job.design), _report_resources(job.config), bool(office()))  # fmt: skip
    hit = store.get("editions", digest)
    if hit is not None:
        detail, _, data = hit.partition(b"\n")
        target.write_bytes(data)
        return detail.decode() + " (cached)"
    detail = EDITIONS[name].write(job, target)
    store.put("editions", digest, detail.encode() + b"\n" + target.read_bytes())
    return detail


# The report.yaml sections an edition does not read, so changing them leaves it cached.
UNREAD = {"html": {"pdf", "docx", "page"}, "pdf": {"docx"}, "docx": set()}
NAMES_ONLY = {"formats", "citation_styles", "output", "sections", "bibliography"}


def _settings_for(name: str, config: Config) -> str:
    values = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in UNREAD.get(name, set()) | NAMES_ONLY
    }
    return repr(sorted(values.items()))


def _report_resources(config: Config) -> list[tuple[str, str]]:
    """Hashes of the report's own styles, templates and logo: what editions read besides the
    processed document (the tool's own are part of every cache key already)."""
    found = []
    for folder in (config.folder / "styles", config.folder / "templates"):
        if folder.is_dir() and folder.resolve() != (TOOL_ROOT / folder.name).resolve():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                found.append((path.as_posix(), hashlib.sha256(path.read_bytes()).hexdigest()))
    if config.logo is not None and config.logo.is_file():
        found.append(("logo", hashlib.sha256(config.logo.read_bytes()).hexdigest()))
    return found


def _registry() -> dict[str, Edition]:
    from press.editions.docx import DocxEdition
    from press.editions.html import HtmlEdition
    from press.editions.pdf import PdfEdition

    editions: dict[str, Edition] = {}
    for edition in (PdfEdition(), DocxEdition(), HtmlEdition()):
        if edition.name in editions:
            raise ValueError(f"edition '{edition.name}' registered twice")
        editions[edition.name] = edition
    return editions


EDITIONS: dict[str, Edition] = _registry()
